// jsonio: the one place where JSON values become text and text becomes JSON values.
//
// Every component writes JSON through these functions so that what we measure is exactly
// what we send: compact (no spaces), UTF-8 passed through unescaped, control characters
// escaped, and doubles in the shortest form that reads back to the same value, written the
// way Python's repr writes them ("1.0", "61.5", "1e+20", "1.5e-07"). Boost.JSON's own
// serializer writes 61.5 as "6.15E1", which agents and the Python reference would both find
// surprising. Non-finite doubles (which JSON cannot carry) are written as null.
//
// Thread-safety: all functions are pure and may be called from any thread.
#pragma once

#include <bit>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace jsonio {

// Appends the compact JSON text of `v` to `out`.
void write(const boost::json::value& v, std::string& out);

// Returns the compact JSON text of `v`.
std::string to_string(const boost::json::value& v);
// The same for an object or array, without first copying it into a temporary value.
std::string to_string(const boost::json::object& o);
std::string to_string(const boost::json::array& a);
void write(const boost::json::object& o, std::string& out);

// Returns the canonical JSON text of `v`: compact, with object members sorted by key
// (bytewise). Two values that are equal as JSON have the same canonical text, whatever the
// insertion order of their members. Used for cache keys of cached calls.
std::string to_canonical_string(const boost::json::value& v);

// Size of the compact JSON text of a value, computed without building the text.
struct TextSize {
  std::size_t bytes = 0;        // UTF-8 bytes
  std::size_t code_points = 0;  // Unicode code points ("characters")
};

TextSize measure(const boost::json::value& v);

// Appends the compact JSON text of `v` to `out` (as write() does) and returns its size,
// equal to measure(v), computed in the same pass. `hint` is the expected size in bytes
// (room reserved up front; the text may be longer).
TextSize write_measured(const boost::json::value& v, std::string& out, std::size_t hint = 256);

// The compact JSON text of `v`, whose size is known (`bytes` = measure(v).bytes): written
// into room of that size at once (with what the writer looks ahead past the last item), so
// that a large value's text is neither grown by copies nor given twice its room.
std::string to_string_of_size(const boost::json::value& v, std::size_t bytes);

// Digits of `v` without a branch per digit: the bit length gives floor(log10) within one
// (1233/4096 ~ log10(2)), and one comparison with a power of ten settles it.
inline std::size_t decimal_digits_inline(std::uint64_t v) {
  static constexpr std::uint64_t kPow10[20] = {1ULL,
                                               10ULL,
                                               100ULL,
                                               1000ULL,
                                               10000ULL,
                                               100000ULL,
                                               1000000ULL,
                                               10000000ULL,
                                               100000000ULL,
                                               1000000000ULL,
                                               10000000000ULL,
                                               100000000000ULL,
                                               1000000000000ULL,
                                               10000000000000ULL,
                                               100000000000000ULL,
                                               1000000000000000ULL,
                                               10000000000000000ULL,
                                               100000000000000000ULL,
                                               1000000000000000000ULL,
                                               10000000000000000000ULL};
  const unsigned bits = 64 - static_cast<unsigned>(std::countl_zero(v | 1));
  const unsigned t = bits * 1233 >> 12;  // floor(log10(v)) or one more
  return t + 1 - ((v | 1) < kPow10[t] ? 1 : 0);
}

// Characters of an integer's JSON text.
inline std::size_t int64_chars(std::int64_t i) {
  return i >= 0 ? decimal_digits_inline(static_cast<std::uint64_t>(i))
                : 1 + decimal_digits_inline(0 - static_cast<std::uint64_t>(i));
}

// Code points of the compact JSON text of `v` (measure(v).code_points), with integers
// measured inline: previews measure items one by one, mostly numbers.
inline std::size_t measure_code_points(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::int64:
      return int64_chars(v.get_int64());
    case boost::json::kind::uint64:
      return decimal_digits_inline(v.get_uint64());
    default:
      return measure(v).code_points;
  }
}

// Size of a JSON string literal (with quotes and escapes) holding `s`.
TextSize measure_string_literal(std::string_view s);

// Appends `s` as a JSON string literal (quoted and escaped).
void write_string_literal(std::string_view s, std::string& out);

// Appends a double the way write() does.
void write_double(double d, std::string& out);

// Limits applied when parsing untrusted text.
struct ParseLimits {
  std::size_t max_depth = 64;  // nesting of arrays/objects; deeper input is rejected
  std::size_t max_bytes = 0;   // 0 = unlimited; larger input is rejected before parsing
};

// Parses `text`. On failure returns null and sets `ec` (never throws).
boost::json::value parse(std::string_view text, std::error_code& ec,
                         const ParseLimits& limits = {});

// Parses `text`; throws std::system_error on failure.
boost::json::value parse_or_throw(std::string_view text, const ParseLimits& limits = {});

}  // namespace jsonio
