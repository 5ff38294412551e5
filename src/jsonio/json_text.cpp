#include "jsonio/json_text.hpp"

#include <algorithm>
#include <array>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/value_stack.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace jsonio {
namespace json = boost::json;

namespace {

// Escape class per byte: 0 = copy as is, otherwise the length of its escape sequence.
constexpr std::array<std::uint8_t, 256> make_escape_len() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = 6;  // \u00XX
  t['\b'] = t['\f'] = t['\n'] = t['\r'] = t['\t'] = 2;
  t['"'] = t['\\'] = 2;
  return t;
}
constexpr auto kEscapeLen = make_escape_len();

inline bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// Skips the bytes from p that need no escape, eight at a time (SWAR: one 64-bit word per
// step instead of a table lookup per byte), adding the UTF-8 continuation bytes among them
// to `continuation`. Stops at the first word holding a byte below 0x20, '"' or '\\' (which
// the caller then handles byte by byte), or when fewer than eight bytes are left.
inline const char* skip_plain(const char* p, const char* end, std::size_t& continuation) {
#if defined(__SSE2__)
  // Sixteen bytes at a time where SSE2 is there (every x86-64).
  const __m128i quote16 = _mm_set1_epi8('"'), backslash16 = _mm_set1_epi8('\\'),
                max_control16 = _mm_set1_epi8(0x1F), top2 = _mm_set1_epi8(static_cast<char>(0xC0)),
                cont16 = _mm_set1_epi8(static_cast<char>(0x80));
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // x <= 0x1F (unsigned) is min(x, 0x1F) == x.
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote16), _mm_cmpeq_epi8(x, backslash16)),
                     _mm_cmpeq_epi8(_mm_min_epu8(x, max_control16), x));
    if (_mm_movemask_epi8(special) != 0) return p;  // the SWAR and byte loops take it from here
    if (_mm_movemask_epi8(x) != 0) {                // some byte >= 0x80: count continuations
      const int c = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(x, top2), cont16));
      continuation += static_cast<std::size_t>(__builtin_popcount(static_cast<unsigned>(c)));
    }
    p += 16;
  }
#endif
  constexpr std::uint64_t k01 = 0x0101010101010101ULL, k80 = 0x8080808080808080ULL;
  while (end - p >= 8) {
    std::uint64_t x;
    std::memcpy(&x, p, 8);
    // "Some byte is below n" is ((x - n*k01) & ~x & k80) != 0 (exact for n <= 128); a byte
    // equal to c is a byte of x ^ c*k01 below 1.
    const std::uint64_t quote = x ^ (k01 * '"'), backslash = x ^ (k01 * '\\');
    const std::uint64_t special =
        ((x - k01 * 0x20) & ~x) | ((quote - k01) & ~quote) | ((backslash - k01) & ~backslash);
    if ((special & k80) != 0) break;
    // Continuation bytes are 10xxxxxx: bit 7 set and bit 6 clear (none in ASCII text, where
    // the count, a library call without the popcnt instruction, is skipped).
    if (const std::uint64_t c = x & ~(x << 1) & k80; c != 0)
      continuation += static_cast<std::size_t>(__builtin_popcountll(c));
    p += 8;
  }
  return p;
}

void append_escape(unsigned char c, std::string& out) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(buf, 6);
    }
  }
}

// Python's repr of a float: the shortest digits that read back to the same double, written
// in fixed notation when the decimal exponent is within -4 .. 15 and in scientific notation
// (at least two exponent digits) otherwise; a fixed number without a fraction gets ".0", so
// that a value that went in as a float comes back as a float. (std::to_chars alone picks
// whichever notation is shorter: "1e+05" where Python writes "100000.0".) `cap` must be at
// least 32.
std::size_t format_double(double d, char* buf, std::size_t cap) {
  if (!std::isfinite(d)) {
    static constexpr std::string_view kNull = "null";  // JSON has no NaN or infinity
    kNull.copy(buf, kNull.size());
    return kNull.size();
  }
  // Shortest round-trip digits in scientific form: [-]d[.ddd]e(+|-)XX[X].
  char sci[40];
  auto res = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific);
  const char* p = sci;
  const char* end = res.ptr;
  std::size_t n = 0;
  if (*p == '-') {
    buf[n++] = '-';
    ++p;
  }
  const char* e = std::find(p, end, 'e');
  char digits[20];
  std::size_t nd = 0;
  for (const char* q = p; q != e; ++q)
    if (*q != '.') digits[nd++] = *q;
  int exp = 0;
  std::from_chars(e + (e[1] == '+' ? 2 : 1), end, exp);
  if (exp < -4 || exp >= 16) {
    // Scientific, as to_chars wrote it (its exponent has at least two digits, as Python's).
    std::size_t len = static_cast<std::size_t>(end - p);
    std::memcpy(buf + n, p, std::min(len, cap - n));
    return n + len;
  }
  if (exp < 0) {  // 0.000ddd
    buf[n++] = '0';
    buf[n++] = '.';
    for (int i = -1; i > exp; --i) buf[n++] = '0';
    std::memcpy(buf + n, digits, nd);
    return n + nd;
  }
  // ddd[000].ddd or ddd.0
  const auto whole = static_cast<std::size_t>(exp) + 1;
  for (std::size_t i = 0; i < whole; ++i) buf[n++] = i < nd ? digits[i] : '0';
  buf[n++] = '.';
  if (nd > whole) {
    std::memcpy(buf + n, digits + whole, nd - whole);
    n += nd - whole;
  } else {
    buf[n++] = '0';
  }
  return n;
}

// Characters of an integer's text, counted without formatting it (hot in measure() and
// previews); the count of json_text.hpp, shared with the previews.
inline std::size_t int_len(std::int64_t v) {
  return int64_chars(v);
}
inline std::size_t int_len(std::uint64_t v) {
  return decimal_digits_inline(v);
}

// The writer formats straight into the output string through a raw pointer in one pass:
// appending piece by piece through std::string cost more than the formatting itself, and
// measuring first (to size the buffer exactly) cost a second walk over the value. Before
// each piece it makes sure the room the piece can need at most is there (`need`), growing
// the string geometrically; the string is cut to the written length at the end.
class Out {
 public:
  Out(std::string& s, std::size_t hint) : s_(s), start_(s.size()) {
    s_.resize(start_ + std::max<std::size_t>(hint, 64));
    p = s_.data() + start_;
    lim_ = s_.data() + s_.size();
  }
  void need(std::size_t n) {
    if (static_cast<std::size_t>(lim_ - p) < n) grow(n);
  }
  // Bytes written so far, and the UTF-8 continuation bytes among them (which are not code
  // points of their own); only string contents can hold any.
  TextSize finish() {
    const std::size_t bytes = static_cast<std::size_t>(p - (s_.data() + start_));
    s_.resize(start_ + bytes);
    return {bytes, bytes - continuation};
  }

  // The end of the room obtained so far (what need() guarantees is between p and it).
  char* limit() const { return lim_; }

  char* p;
  std::size_t continuation = 0;

 private:
  void grow(std::size_t n) {
    const std::size_t used = static_cast<std::size_t>(p - s_.data());
    s_.resize(std::max(s_.size() * 2, used + n + 64));
    p = s_.data() + used;
    lim_ = s_.data() + s_.size();
  }
  std::string& s_;
  std::size_t start_;
  char* lim_;
};

// Longest text of one scalar: a double ("-1.2345678901234567e-308" plus ".0" room, see
// format_double) or a 64-bit integer (20 digits and a sign).
constexpr std::size_t kScalarRoom = 40;
// Longest text of a 64-bit integer and the comma after it in an array.
constexpr std::size_t kIntRoom = 22;

char* put_escape(unsigned char c, char* p) {
  static constexpr char kHex[] = "0123456789abcdef";
  *p++ = '\\';
  switch (c) {
    case '"':
      *p++ = '"';
      return p;
    case '\\':
      *p++ = '\\';
      return p;
    case '\b':
      *p++ = 'b';
      return p;
    case '\f':
      *p++ = 'f';
      return p;
    case '\n':
      *p++ = 'n';
      return p;
    case '\r':
      *p++ = 'r';
      return p;
    case '\t':
      *p++ = 't';
      return p;
    default:
      *p++ = 'u';
      *p++ = '0';
      *p++ = '0';
      *p++ = kHex[c >> 4];
      *p++ = kHex[c & 0xF];
      return p;
  }
}

void put_string(std::string_view s, Out& o) {
  o.need(s.size() + 2);
  *o.p++ = '"';
  const char* run = s.data();
  const char* end = run + s.size();
  std::size_t continuation = 0;
  for (const char* q = run; q != end;) {
    q = skip_plain(q, end, continuation);
    // Byte by byte through the word that stopped the skip (or the tail).
    for (const char* stop = std::min(q + 8, end); q != stop; ++q) {
      unsigned char c = static_cast<unsigned char>(*q);
      continuation += is_continuation(c);
      if (kEscapeLen[c] != 0) {
        const auto n = static_cast<std::size_t>(q - run);
        std::memcpy(o.p, run, n);
        o.p += n;
        // The escape plus the rest of the string and its closing quote must fit.
        o.need(6 + static_cast<std::size_t>(end - q));
        o.p = put_escape(c, o.p);
        run = q + 1;
      }
    }
  }
  const auto n = static_cast<std::size_t>(end - run);
  std::memcpy(o.p, run, n);
  o.p += n;
  *o.p++ = '"';
  o.continuation += continuation;
}

// Two-digit pairs "00".."99", for writing integers two digits per step.
constexpr char kPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// Writes an unsigned integer two digits at a time from its end, in place (faster than
// to_chars here, and than formatting into a scratch buffer and copying). Integers below
// 10,000, the bulk of tool results (ids, counts, small measures), take no loop and no
// 64-bit division; below 2^32 the loop divides in 32 bits, which is cheaper.
template <class U>
inline char* put_digits(U v, char* p) {
  char* const end = p + decimal_digits_inline(v);
  char* q = end;
  while (v >= 100) {
    const auto i = static_cast<std::size_t>(v % 100) * 2;
    v /= 100;
    q -= 2;
    q[0] = kPairs[i];
    q[1] = kPairs[i + 1];
  }
  if (v >= 10) {
    q[-2] = kPairs[v * 2];
    q[-1] = kPairs[v * 2 + 1];
  } else {
    q[-1] = static_cast<char>('0' + v);
  }
  return end;
}

// The text of 0 ... 9,999 followed by a comma, in eight bytes: the digits, ',', zeros, and
// in the last byte the length of digits and comma ("7," is {'7', ',', 0, 0, 0, 0, 0, 2}).
// An integer below 10,000 (ids, counts, small measures: the bulk of the integers in tool
// results) is then one load, one eight-byte store and an add, with no branch on its length:
// 15 instructions an element of an array of integers, where writing digit pairs took 35.
// 80 KB, of which a run of nearby integers reads a few lines.
struct SmallInt {
  char bytes[8];
};
constexpr std::array<SmallInt, 10000> make_small_ints() {
  std::array<SmallInt, 10000> t{};
  for (unsigned v = 0; v < 10000; ++v) {
    char digits[4] = {};
    unsigned n = 0;
    for (unsigned x = v;; x /= 10) {
      digits[n++] = static_cast<char>('0' + x % 10);
      if (x < 10) break;
    }
    for (unsigned i = 0; i < n; ++i) t[v].bytes[i] = digits[n - 1 - i];
    t[v].bytes[n] = ',';
    t[v].bytes[7] = static_cast<char>(n + 1);
  }
  return t;
}
constexpr std::array<SmallInt, 10000> kSmallInts = make_small_ints();

// Writes v (< 10,000) and a comma after it; returns the end of the comma. Writes eight
// bytes whatever the length: callers have room for any integer (kIntRoom, kScalarRoom).
inline char* put_below_10000_and_comma(std::uint32_t v, char* p) {
  std::memcpy(p, kSmallInts[v].bytes, 8);
  return p + kSmallInts[v].bytes[7];
}

inline char* put_u64(std::uint64_t v, char* p) {
  // The comma written after the digits lies beyond the returned end: overwritten or cut.
  if (v < 10000) return put_below_10000_and_comma(static_cast<std::uint32_t>(v), p) - 1;
  if (v <= 0xFFFFFFFFu) return put_digits(static_cast<std::uint32_t>(v), p);
  return put_digits(v, p);
}

inline char* put_i64(std::int64_t v, char* p) {
  if (v >= 0) return put_u64(static_cast<std::uint64_t>(v), p);
  *p++ = '-';
  return put_u64(0 - static_cast<std::uint64_t>(v), p);
}

void put_value(const json::value& v, Out& o, bool canonical);

void put_array(const json::array& a, Out& o, bool canonical) {
  o.need(2);
  *o.p++ = '[';
  const json::value* e = a.data();
  const json::value* const end = e + a.size();
  if (e == end) {
    *o.p++ = ']';
    return;
  }
  // Every element is followed by a comma; the last one becomes the closing bracket.
  while (e != end) {
    if (e->is_int64()) {
      // A run of integers, the bulk of large tool results, written through a local cursor:
      // through o.p the compiler must assume that each digit stored (a char, which may alias
      // anything) could change o.p itself, and reloads and stores it around every element.
      // The room is checked per stretch of integers, not per integer: a stretch is as many
      // as the room obtained so far holds at their longest.
      char* p = o.p;
      do {
        auto room = static_cast<std::size_t>(o.limit() - p) / kIntRoom;
        if (room == 0) {
          o.p = p;
          o.need(kIntRoom * static_cast<std::size_t>(std::min<std::ptrdiff_t>(end - e, 64)));
          p = o.p;
          room = static_cast<std::size_t>(o.limit() - p) / kIntRoom;
        }
        const json::value* const stop = e + std::min(room, static_cast<std::size_t>(end - e));
        do {
          const auto v = static_cast<std::uint64_t>(e->get_int64());
          if (v < 10000) {  // and not negative
            p = put_below_10000_and_comma(static_cast<std::uint32_t>(v), p);
          } else {
            p = put_i64(e->get_int64(), p);
            *p++ = ',';
          }
        } while (++e != stop && e->is_int64());
      } while (e != end && e->is_int64());
      o.p = p;
    } else {
      put_value(*e, o, canonical);
      o.need(1);
      *o.p++ = ',';
      ++e;
    }
  }
  o.p[-1] = ']';
}

void put_object(const json::object& obj, Out& o, bool canonical) {
  o.need(2);
  *o.p++ = '{';
  auto member = [&](const json::key_value_pair& kv, bool first) {
    if (!first) {
      o.need(1);
      *o.p++ = ',';
    }
    put_string(kv.key(), o);
    o.need(1);
    *o.p++ = ':';
    put_value(kv.value(), o, canonical);
  };
  if (!canonical || obj.size() < 2) {
    bool first = true;
    for (const auto& kv : obj) {
      member(kv, first);
      first = false;
    }
  } else {
    // Sorted by key. Small objects (call arguments, the common case) sort on the stack.
    constexpr std::size_t kOnStack = 16;
    std::array<const json::key_value_pair*, kOnStack> small{};
    std::vector<const json::key_value_pair*> large;
    const json::key_value_pair** members = small.data();
    if (obj.size() > kOnStack) {
      large.resize(obj.size());
      members = large.data();
    }
    std::size_t n = 0;
    for (const auto& kv : obj) members[n++] = &kv;
    std::sort(members, members + n, [](auto* a, auto* b) { return a->key() < b->key(); });
    for (std::size_t i = 0; i < n; ++i) member(*members[i], i == 0);
  }
  o.need(1);
  *o.p++ = '}';
}

void put_value(const json::value& v, Out& o, bool canonical) {
  switch (v.kind()) {
    case json::kind::null:
      o.need(4);
      std::memcpy(o.p, "null", 4);
      o.p += 4;
      return;
    case json::kind::bool_:
      o.need(5);
      if (v.get_bool()) {
        std::memcpy(o.p, "true", 4);
        o.p += 4;
      } else {
        std::memcpy(o.p, "false", 5);
        o.p += 5;
      }
      return;
    case json::kind::int64:
      o.need(kScalarRoom);
      o.p = put_i64(v.get_int64(), o.p);
      return;
    case json::kind::uint64:
      o.need(kScalarRoom);
      o.p = put_u64(v.get_uint64(), o.p);
      return;
    case json::kind::double_:
      o.need(kScalarRoom);
      o.p += format_double(v.get_double(), o.p, kScalarRoom - 2);
      return;
    case json::kind::string:
      put_string(v.get_string(), o);
      return;
    case json::kind::array:
      put_array(v.get_array(), o, canonical);
      return;
    case json::kind::object:
      put_object(v.get_object(), o, canonical);
      return;
  }
}

void measure_impl(const json::value& v, TextSize& s) {
  switch (v.kind()) {
    case json::kind::null:
      s.bytes += 4;
      s.code_points += 4;
      return;
    case json::kind::bool_: {
      std::size_t n = v.get_bool() ? 4 : 5;
      s.bytes += n;
      s.code_points += n;
      return;
    }
    case json::kind::int64: {
      std::size_t n = int_len(v.get_int64());
      s.bytes += n;
      s.code_points += n;
      return;
    }
    case json::kind::uint64: {
      std::size_t n = int_len(v.get_uint64());
      s.bytes += n;
      s.code_points += n;
      return;
    }
    case json::kind::double_: {
      char buf[40];
      std::size_t n = format_double(v.get_double(), buf, sizeof buf - 2);
      s.bytes += n;
      s.code_points += n;
      return;
    }
    case json::kind::string: {
      TextSize t = measure_string_literal(v.get_string());
      s.bytes += t.bytes;
      s.code_points += t.code_points;
      return;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      // Scalars are ASCII (bytes == code points) and measured inline: previews and set()
      // measure large arrays of numbers, and the recursive call per item dominated.
      std::size_t ascii = 2 + (a.empty() ? 0 : a.size() - 1);
      for (const auto& e : a) {
        switch (e.kind()) {
          case json::kind::int64:
            ascii += int_len(e.get_int64());
            break;
          case json::kind::uint64:
            ascii += int_len(e.get_uint64());
            break;
          case json::kind::null:
            ascii += 4;
            break;
          case json::kind::bool_:
            ascii += e.get_bool() ? 4 : 5;
            break;
          default:
            measure_impl(e, s);
            break;
        }
      }
      s.bytes += ascii;
      s.code_points += ascii;
      return;
    }
    case json::kind::object: {
      const auto& o = v.get_object();
      std::size_t punct = 2 + (o.empty() ? 0 : o.size() - 1) + o.size();  // braces, commas, colons
      s.bytes += punct;
      s.code_points += punct;
      for (const auto& kv : o) {
        TextSize k = measure_string_literal(kv.key());
        s.bytes += k.bytes;
        s.code_points += k.code_points;
        measure_impl(kv.value(), s);
      }
      return;
    }
  }
}

}  // namespace

void write_string_literal(std::string_view s, std::string& out) {
  out.push_back('"');
  const char* p = s.data();
  const char* end = p + s.size();
  const char* run = p;
  std::size_t continuation = 0;  // not needed here
  while (p != end) {
    p = skip_plain(p, end, continuation);
    for (const char* stop = std::min(p + 8, end); p != stop; ++p) {
      unsigned char c = static_cast<unsigned char>(*p);
      if (kEscapeLen[c] != 0) {
        out.append(run, p);
        append_escape(c, out);
        run = p + 1;
      }
    }
  }
  out.append(run, end);
  out.push_back('"');
}

TextSize measure_string_literal(std::string_view s) {
  TextSize t{2, 2};
  const char* p = s.data();
  const char* end = p + s.size();
  std::size_t continuation = 0;
  while (p != end) {
    const char* plain = skip_plain(p, end, continuation);
    t.bytes += static_cast<std::size_t>(plain - p);
    t.code_points += static_cast<std::size_t>(plain - p);
    p = plain;
    for (const char* stop = std::min(p + 8, end); p != stop; ++p) {
      unsigned char c = static_cast<unsigned char>(*p);
      std::size_t e = kEscapeLen[c];
      if (e != 0) {
        t.bytes += e;
        t.code_points += e;
      } else {
        t.bytes += 1;
        t.code_points += is_continuation(c) ? 0 : 1;
      }
    }
  }
  t.code_points -= continuation;
  return t;
}

void write_double(double d, std::string& out) {
  char buf[40];
  std::size_t n = format_double(d, buf, sizeof buf - 2);
  out.append(buf, n);
}

namespace {
TextSize write_impl(const json::value& v, std::string& out, bool canonical, std::size_t hint) {
  Out o(out, hint);
  put_value(v, o, canonical);
  return o.finish();
}
}  // namespace

void write(const json::value& v, std::string& out) {
  // The room reserved up front is zero-filled and then cut back: a scalar (a metadata
  // member, say) asks for the least, a string grows the room as it needs.
  const bool container = v.is_array() || v.is_object();
  write_impl(v, out, false, container ? 256 : 0);
}

TextSize write_measured(const json::value& v, std::string& out, std::size_t hint) {
  return write_impl(v, out, false, hint);
}

std::string to_string_of_size(const json::value& v, std::size_t bytes) {
  // The writer asks for room ahead of what it writes: at most a stretch of 64 integers.
  constexpr std::size_t kLookAhead = kIntRoom * 64 + kScalarRoom;
  std::string out;
  write_impl(v, out, false, bytes + kLookAhead);
  return out;
}

std::string to_string(const json::value& v) {
  std::string out;
  write_impl(v, out, false, 256);
  return out;
}

std::string to_string(const json::object& obj) {
  std::string out;
  Out o(out, 256);
  put_object(obj, o, false);
  o.finish();
  return out;
}

void write(const json::object& obj, std::string& out) {
  Out o(out, 256);
  put_object(obj, o, false);
  o.finish();
}

std::string to_string(const json::array& a) {
  std::string out;
  Out o(out, 256);
  put_array(a, o, false);
  o.finish();
  return out;
}

std::string to_canonical_string(const json::value& v) {
  std::string out;
  write_impl(v, out, true, 256);
  return out;
}

TextSize measure(const json::value& v) {
  TextSize s;
  measure_impl(v, s);
  return s;
}

namespace {

// A handler for Boost.JSON's basic_parser that builds a value exactly as json::parser does,
// except that doubles are converted from their text with std::from_chars, which rounds
// correctly. Boost 1.81's own conversion can be one unit in the last place off, so a value
// stored as text by us (or by Python) and read back would drift.
struct PreciseHandler {
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  json::value_stack st;
  std::string number;  // text of a number split across parts

  using ec_t = boost::system::error_code;
  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_array_begin(ec_t&) { return true; }
  bool on_array_end(std::size_t n, ec_t&) {
    st.push_array(n);
    return true;
  }
  bool on_object_begin(ec_t&) { return true; }
  bool on_object_end(std::size_t n, ec_t&) {
    st.push_object(n);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, ec_t&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, ec_t&) {
    st.push_string(s);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, ec_t&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, ec_t&) {
    st.push_key(s);
    return true;
  }
  bool on_number_part(json::string_view s, ec_t&) {
    number.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, ec_t&) {
    number.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, ec_t&) {
    number.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, ec_t& ec) {
    number.append(s.data(), s.size());
    double exact = d;
    auto res = std::from_chars(number.data(), number.data() + number.size(), exact);
    if (res.ec != std::errc()) exact = d;  // out of range: keep Boost's value (0 or infinite)
    number.clear();
    if (!std::isfinite(exact)) {
      // Beyond the range of a double (1e400): no value we could write back (JSON has no
      // infinity), so the document is refused rather than changed.
      ec = json::error::exponent_overflow;
      return false;
    }
    st.push_double(exact);
    return true;
  }
  bool on_bool(bool b, ec_t&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(ec_t&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, ec_t&) { return true; }
  bool on_comment(json::string_view, ec_t&) { return true; }
};

}  // namespace

json::value parse(std::string_view text, std::error_code& ec, const ParseLimits& limits) {
  ec.clear();
  if (limits.max_bytes != 0 && text.size() > limits.max_bytes) {
    ec = std::make_error_code(std::errc::message_size);
    return nullptr;
  }
  // A parser per thread (and per depth limit: the limit is fixed at construction), reused so
  // that its stacks keep their memory from one document to the next; most documents are
  // small and parsed often (every entry a text-storing backend reads). One that parsed a large
  // document is dropped rather than keep a large stack.
  using Parser = json::basic_parser<PreciseHandler>;
  struct Cached {
    std::size_t depth = 0;
    std::unique_ptr<Parser> parser;
  };
  thread_local std::array<Cached, 4> cache;
  thread_local std::size_t victim = 0;
  Cached* slot = nullptr;
  for (auto& c : cache)
    if (c.parser && c.depth == limits.max_depth) slot = &c;
  if (slot == nullptr) {
    slot = &cache[victim++ % cache.size()];
    json::parse_options opts;
    opts.max_depth = limits.max_depth;
    slot->depth = limits.max_depth;
    slot->parser = std::make_unique<Parser>(opts);
  }
  Parser& p = *slot->parser;
  p.reset();
  p.handler().st.reset();
  p.handler().number.clear();
  boost::system::error_code bec;
  std::size_t n = p.write_some(false, text.data(), text.size(), bec);
  if (!bec && n < text.size()) bec = json::error::extra_data;
  if (!bec && !p.done()) bec = json::error::incomplete;
  json::value result = bec ? json::value(nullptr) : p.handler().st.release();
  if (bec) ec = bec;  // boost::system::error_code converts to std::error_code
  if (text.size() > (std::size_t{1} << 20)) slot->parser.reset();
  return result;
}

json::value parse_or_throw(std::string_view text, const ParseLimits& limits) {
  std::error_code ec;
  json::value v = parse(text, ec, limits);
  if (ec) throw std::system_error(ec, "invalid JSON");
  return v;
}

}  // namespace jsonio
