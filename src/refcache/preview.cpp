#include "refcache/preview.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "jsonio/json_text.hpp"
#include "preview_shape.hpp"
#include "refcache/errors.hpp"
#include "refcache/tokenizer.hpp"

namespace refcache {
namespace json = boost::json;

std::string_view to_string(SizeMode m) {
  return m == SizeMode::kToken ? "token" : "character";
}

std::string_view to_string(PreviewStrategy s) {
  switch (s) {
    case PreviewStrategy::kSample:
      return "sample";
    case PreviewStrategy::kPaginate:
      return "paginate";
    case PreviewStrategy::kTruncate:
      return "truncate";
    case PreviewStrategy::kShape:
      return "shape";
  }
  return "sample";
}

std::string_view to_string(TokenCounter t) {
  switch (t) {
    case TokenCounter::kO200kBase:
      return "o200k_base";
    case TokenCounter::kCl100kBase:
      return "cl100k_base";
    case TokenCounter::kChars4:
      return "chars4";
  }
  return "o200k_base";
}

std::optional<TokenCounter> token_counter_from_string(std::string_view s) {
  if (s == "o200k_base") return TokenCounter::kO200kBase;
  if (s == "cl100k_base") return TokenCounter::kCl100kBase;
  if (s == "chars4") return TokenCounter::kChars4;
  return std::nullopt;
}

std::optional<SizeMode> size_mode_from_string(std::string_view s) {
  if (s == "token") return SizeMode::kToken;
  if (s == "character") return SizeMode::kCharacter;
  return std::nullopt;
}

std::optional<PreviewStrategy> preview_strategy_from_string(std::string_view s) {
  if (s == "sample") return PreviewStrategy::kSample;
  if (s == "paginate") return PreviewStrategy::kPaginate;
  if (s == "truncate") return PreviewStrategy::kTruncate;
  if (s == "shape") return PreviewStrategy::kShape;
  return std::nullopt;
}

namespace {

std::size_t chars_of(const json::value& v) {
  return jsonio::measure_code_points(v);
}

// `v`'s compact JSON, written into room for `known_chars` code points (plus some for multi-byte
// ones) when its length is known, so that a large value's text is not grown by copies.
std::string text_of(const json::value& v, std::optional<std::size_t> known_chars) {
  if (!known_chars) return jsonio::to_string(v);
  std::string out;
  jsonio::write_measured(v, out, *known_chars + *known_chars / 16 + 64);
  return out;
}

// The i-th of `count` evenly spaced indices over n items: round(i * step) with Python's
// round-half-to-even, without a libm call (this runs for every item of every search step).
// Conversions go through int64 (one instruction each way; the unsigned ones test for 2^63
// on every item). Counts are far below 2^53, so every value is exact.
inline std::size_t sample_index(std::size_t i, double step) {
  const double x = static_cast<double>(static_cast<std::int64_t>(i)) * step;
  std::int64_t r = static_cast<std::int64_t>(x);  // x >= 0: truncation is floor
  const double frac = x - static_cast<double>(r);
  if (frac > 0.5 || (frac == 0.5 && (r & 1))) ++r;
  return static_cast<std::size_t>(r);
}

// Largest count in [1, hi] for which fits(count) holds (fits is monotone in practice).
// `chars` is the size of the last sample that fitted; after a success the next guess scales
// the count by how much of the budget that sample used (a secant step), after a failure it
// bisects. With the average-size estimate to start from, two or three probes usually settle
// it -- each probe touches `count` items, so their number is what previews cost.
template <class Fits>
std::size_t search_count(std::size_t hi, std::size_t estimate, std::size_t budget,
                         const std::size_t& chars, Fits fits) {
  if (hi <= 1) return 1;
  std::size_t ok = 0, bad = hi + 1;  // fits(ok) held (0: none yet); fits(bad) failed
  std::size_t guess = std::clamp<std::size_t>(estimate, 1, hi);
  for (int probe = 0; probe < 128 && ok + 1 < bad; ++probe) {
    guess = std::clamp(guess, ok + 1, bad - 1);
    if (fits(guess)) {
      ok = guess;
      const double used = chars > 1 ? static_cast<double>(chars - 1) : 1.0;
      const auto scaled = static_cast<std::size_t>(static_cast<double>(guess) *
                                                   static_cast<double>(budget - 1) / used);
      guess = std::max(scaled, guess + 1);
    } else {
      bad = guess;
      guess = ok ? ok + (bad - ok) / 2 : guess / 2;
    }
  }
  return ok ? ok : 1;
}

// Evenly spaced indices, first and last included; Python's round() (half to even) on the
// same double arithmetic as the reference, so the same items are chosen.
void sample_indices(std::size_t n, std::size_t count, std::vector<std::size_t>& out) {
  out.clear();
  if (count >= n) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(i);
    return;
  }
  if (count == 0) return;
  if (count == 1) {
    out.push_back(0);
    return;
  }
  double step = static_cast<double>(n - 1) / static_cast<double>(count - 1);
  for (std::size_t i = 0; i < count; ++i) out.push_back(sample_index(i, step));
}

// Per-code-point escaped sizes of a string, used to cut it at a code point boundary.
struct StringCut {
  std::size_t code_points = 0;  // of the whole string
  std::size_t keep_cp = 0;      // code points kept
  std::size_t keep_bytes = 0;   // bytes kept
};

// Largest prefix of `s` such that the literal of prefix + suffix fits `budget` chars.
StringCut cut_string(std::string_view s, std::size_t budget, std::size_t suffix_chars) {
  StringCut r;
  std::size_t used = 2 + suffix_chars;  // quotes + suffix
  bool fits = used <= budget;
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80         ? 1
                      : (c >> 5) == 6  ? 2
                      : (c >> 4) == 14 ? 3
                      : (c >> 3) == 30 ? 4
                                       : 1;
    if (i + len > s.size()) len = s.size() - i;
    std::size_t cost = jsonio::measure_string_literal(s.substr(i, len)).code_points - 2;
    if (fits && used + cost <= budget) {
      used += cost;
      r.keep_cp++;
      r.keep_bytes = i + len;
    } else {
      fits = false;
    }
    r.code_points++;
    i += len;
  }
  return r;
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

struct Shrunk {
  json::value value;
  PreviewStrategy strategy = PreviewStrategy::kSample;
  std::optional<std::size_t> total_items;
  std::optional<std::size_t> sampled_items;
  std::optional<std::size_t> value_chars;  // size of `value`, when already known
  bool shrunk = false;                     // a nested value is shown sampled
};

// Iterates the evenly spaced sample of an array without materialising its indices, so the
// preview array is built in one allocation (Boost.JSON's push_back costs ~100 instructions an
// item; its range constructor copies straight into place).
class SampledItems {
 public:
  using iterator_category = std::random_access_iterator_tag;
  using value_type = json::value;
  using difference_type = std::ptrdiff_t;
  using pointer = const json::value*;
  using reference = const json::value&;

  SampledItems(const json::value* base, std::size_t n, std::size_t count, std::size_t pos)
      : base_(base),
        n_(n),
        count_(count),
        pos_(pos),
        step_(count > 1 ? static_cast<double>(n - 1) / static_cast<double>(count - 1) : 0.0) {}
  reference operator*() const { return base_[count_ >= n_ ? pos_ : sample_index(pos_, step_)]; }
  SampledItems& operator++() {
    ++pos_;
    return *this;
  }
  SampledItems operator++(int) {
    SampledItems t = *this;
    ++pos_;
    return t;
  }
  difference_type operator-(const SampledItems& o) const {
    return static_cast<difference_type>(pos_) - static_cast<difference_type>(o.pos_);
  }
  bool operator==(const SampledItems& o) const { return pos_ == o.pos_; }
  bool operator!=(const SampledItems& o) const { return pos_ != o.pos_; }

 private:
  const json::value* base_;
  std::size_t n_, count_, pos_;
  double step_;
};

Shrunk truncate_text(std::string_view text, std::size_t budget) {
  Shrunk r;
  r.strategy = PreviewStrategy::kTruncate;
  StringCut cut = cut_string(text, budget, 3);
  std::string out(text.substr(0, cut.keep_bytes));
  out += "...";
  r.value = json::string(out);
  r.total_items = cut.code_points;
  r.sampled_items = cut.keep_cp;
  return r;
}

Shrunk sample_value(const json::value& v, std::size_t budget, std::optional<std::size_t> known);

// Sum of the sizes of the `count` evenly spaced items, stopping once it exceeds `budget`.
// On success `chars` is the size of that sample.
template <class Size>
bool sample_fits(std::size_t n, std::size_t count, std::size_t budget, Size size,
                 std::size_t& chars) {
  std::size_t total = 2 + (count - 1);
  if (total > budget) return false;
  if (count >= n) {
    for (std::size_t i = 0; i < n; ++i)
      if ((total += size(i)) > budget) return false;
  } else if (count == 1) {
    if ((total += size(0)) > budget) return false;
  } else {
    const double step = static_cast<double>(n - 1) / static_cast<double>(count - 1);
    for (std::size_t i = 0; i < count; ++i)
      if ((total += size(sample_index(i, step))) > budget) return false;
  }
  chars = total;
  return true;
}

Shrunk sample_array(const json::array& a, std::size_t budget, std::size_t total_chars) {
  Shrunk r;
  const std::size_t n = a.size();
  r.total_items = n;
  // Sizes of items already measured, for items that are costly to measure (strings,
  // records): a search probes overlapping samples. Integers, the common list, are measured
  // on the spot (a few instructions, less than the memo's own upkeep), and a list of them
  // never allocates the memo.
  std::vector<std::uint32_t> sz;  // 0 = not measured yet (no item is 0 chars)
  auto size = [&](std::size_t i) -> std::size_t {
    const json::value& v = a[i];
    if (v.is_int64()) return jsonio::int64_chars(v.get_int64());
    if (sz.empty()) sz.resize(n, 0);
    if (sz[i] == 0)
      sz[i] = static_cast<std::uint32_t>(std::min<std::size_t>(chars_of(v), UINT32_MAX));
    return sz[i];
  };
  std::size_t chars = 0, ok_count = 0;  // the size of the last sample that fitted, and its count
  auto fits = [&](std::size_t count) {
    if (!sample_fits(n, count, budget, size, chars)) return false;
    ok_count = count;
    return true;
  };
  // Every item costs at least one character plus a comma, which bounds the search; the
  // average item size gives the starting estimate.
  std::size_t hi = std::max<std::size_t>(1, std::min(n, budget > 1 ? (budget - 1) / 2 : 1));
  double avg = n ? static_cast<double>(total_chars - 2) / static_cast<double>(n) : 1.0;
  std::size_t estimate = static_cast<std::size_t>(static_cast<double>(budget) / std::max(avg, 1.0));
  const std::size_t count = search_count(hi, estimate, budget, chars, fits);
  json::array out;
  // The search's answer is its last successful probe, whose size is in `chars`.
  if (ok_count != count && !fits(count)) {
    // Even one item is too large: shrink it instead of returning it whole.
    out.push_back(sample_value(a[0], budget > 2 ? budget - 2 : 1, std::nullopt).value);
    r.shrunk = true;
  } else {
    const std::size_t k = std::min(count, n);
    out = json::array(SampledItems(a.data(), n, count, 0), SampledItems(a.data(), n, count, k));
    r.value_chars = chars;
  }
  r.sampled_items = out.size();
  r.value = std::move(out);
  return r;
}

Shrunk sample_object(const json::object& o, std::size_t budget, std::size_t total_chars) {
  Shrunk r;
  const std::size_t n = o.size();
  r.total_items = n;
  const json::key_value_pair* members = n ? &*o.begin() : nullptr;
  std::vector<std::uint32_t> sz(n, 0);
  auto size = [&](std::size_t i) -> std::size_t {
    if (sz[i] == 0)
      sz[i] = static_cast<std::uint32_t>(
          std::min<std::size_t>(jsonio::measure_string_literal(members[i].key()).code_points + 1 +
                                    chars_of(members[i].value()),
                                UINT32_MAX));
    return sz[i];
  };
  std::size_t chars = 0;
  auto fits = [&](std::size_t count) { return sample_fits(n, count, budget, size, chars); };
  // A member costs at least '"":' plus one character and a comma.
  std::size_t hi = std::max<std::size_t>(1, std::min(n, budget > 1 ? (budget - 1) / 5 : 1));
  double avg = n ? static_cast<double>(total_chars - 2) / static_cast<double>(n) : 1.0;
  std::size_t estimate = static_cast<std::size_t>(static_cast<double>(budget) / std::max(avg, 1.0));
  std::size_t count = search_count(hi, estimate, budget, chars, fits);
  std::vector<std::size_t> idx;
  json::object out;
  if (count == 1 && !fits(1)) {
    std::size_t key_cost = jsonio::measure_string_literal(members[0].key()).code_points + 1;
    std::size_t inner = budget > 2 + key_cost ? budget - 2 - key_cost : 1;
    out.emplace(members[0].key(), sample_value(members[0].value(), inner, std::nullopt).value);
    r.shrunk = true;
  } else {
    sample_indices(n, count, idx);
    out.reserve(idx.size());
    for (std::size_t i : idx) out.emplace(members[i].key(), members[i].value());
  }
  r.sampled_items = out.size();
  r.value = std::move(out);
  return r;
}

Shrunk sample_value(const json::value& v, std::size_t budget, std::optional<std::size_t> known) {
  std::size_t total = known ? *known : chars_of(v);
  if (total <= budget) {
    Shrunk r;
    r.value = v;
    if (v.is_array()) r.total_items = r.sampled_items = v.get_array().size();
    if (v.is_object()) r.total_items = r.sampled_items = v.get_object().size();
    if (v.is_string()) {
      r.strategy = PreviewStrategy::kTruncate;
      r.total_items = r.sampled_items = code_points(v.get_string());
    }
    return r;
  }
  // A shrunk item keeps the keys above it; when even they do not fit (a deep nesting of
  // objects in a small budget), the JSON text is cut instead, so that the budget holds.
  auto within_budget = [&](Shrunk r) {
    if (r.shrunk && chars_of(r.value) > budget) return truncate_text(jsonio::to_string(v), budget);
    return r;
  };
  switch (v.kind()) {
    case json::kind::array:
      if (v.get_array().empty()) break;
      return within_budget(sample_array(v.get_array(), budget, total));
    case json::kind::object:
      if (v.get_object().empty()) break;
      return within_budget(sample_object(v.get_object(), budget, total));
    case json::kind::string:
      return truncate_text(v.get_string(), budget);
    default:
      return truncate_text(jsonio::to_string(v), budget);
  }
  Shrunk r;
  r.value = v;
  r.total_items = r.sampled_items = 0;
  return r;
}

std::size_t budget_chars(const PreviewRequest& req, const PreviewConfig& cfg) {
  if (req.max_size == 0) throw InvalidArgument("max_size must be at least 1");
  if (cfg.size_mode == SizeMode::kCharacter) return req.max_size;
  std::size_t cpt = cfg.chars_per_token ? cfg.chars_per_token : 4;
  if (req.max_size > std::numeric_limits<std::size_t>::max() / cpt)
    return std::numeric_limits<std::size_t>::max();
  return req.max_size * cpt;
}

// Largest prefix [begin, begin+k) of items that fits, given per-item costs.
template <class CostFn>
std::size_t fitting_prefix(std::size_t count, std::size_t budget, CostFn cost) {
  std::size_t total = 2;
  for (std::size_t k = 0; k < count; ++k) {
    std::size_t add = cost(k) + (k ? 1 : 0);
    if (total + add > budget) return k;
    total += add;
  }
  return count;
}

PreviewResult paginate(const json::value& v, const PreviewRequest& req, std::size_t budget) {
  PreviewResult r;
  r.strategy = PreviewStrategy::kPaginate;
  const std::int64_t page = req.page.value_or(1);
  const bool is_string = v.is_string();
  std::size_t n = 0;
  if (v.is_array())
    n = v.get_array().size();
  else if (v.is_object())
    n = v.get_object().size();
  else if (is_string)
    n = code_points(v.get_string());
  else
    n = 1;
  std::int64_t ps = req.page_size.value_or(
      is_string ? static_cast<std::int64_t>(budget > 5 ? budget - 5 : 1) : kDefaultPageSize);
  if (!v.is_array() && !v.is_object() && !is_string) ps = 1;
  r.page = page;
  r.page_size = ps;
  r.total_items = n;
  std::size_t ups = static_cast<std::size_t>(ps);
  r.total_pages = static_cast<std::int64_t>(n / ups + (n % ups ? 1 : 0));
  // Start index without overflow: a page beyond the end is simply empty.
  std::size_t start = 0;
  bool beyond = static_cast<std::size_t>(page - 1) > n / ups;
  if (!beyond) {
    start = static_cast<std::size_t>(page - 1) * ups;
    beyond = start >= n;
  }
  std::size_t end = beyond ? start : std::min(n, start + ups);

  if (v.is_array()) {
    const auto& a = v.get_array();
    json::array out;
    if (!beyond) {
      std::size_t k = fitting_prefix(end - start, budget,
                                     [&](std::size_t i) { return chars_of(a[start + i]); });
      if (k == 0 && end > start) {
        out.push_back(sample_value(a[start], budget > 2 ? budget - 2 : 1, std::nullopt).value);
        r.omitted["nesting_shrunk"] = true;
      } else {
        for (std::size_t i = 0; i < k; ++i) out.push_back(a[start + i]);
      }
    }
    r.sampled_items = out.size();
    r.preview = std::move(out);
  } else if (v.is_object()) {
    const auto& o = v.get_object();
    const json::key_value_pair* m = n ? &*o.begin() : nullptr;
    json::object out;
    if (!beyond) {
      std::size_t k = fitting_prefix(end - start, budget, [&](std::size_t i) {
        return jsonio::measure_string_literal(m[start + i].key()).code_points + 1 +
               chars_of(m[start + i].value());
      });
      for (std::size_t i = 0; i < k; ++i) out.emplace(m[start + i].key(), m[start + i].value());
    }
    r.sampled_items = out.size();
    r.preview = std::move(out);
  } else if (is_string) {
    std::string_view s = v.get_string();
    // Byte offsets of code points start..end.
    std::size_t cp = 0, b0 = s.size(), b1 = s.size();
    for (std::size_t i = 0; i <= s.size(); ++i) {
      if (i == s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
        if (cp == start && b0 == s.size()) b0 = i;
        if (cp == end) {
          b1 = i;
          break;
        }
        ++cp;
      }
    }
    std::string_view chunk = beyond ? std::string_view() : s.substr(b0, b1 - b0);
    if (jsonio::measure_string_literal(chunk).code_points <= budget) {
      r.preview = json::string(chunk);
      r.sampled_items = code_points(chunk);
    } else {
      Shrunk t = truncate_text(chunk, budget);
      r.preview = std::move(t.value);
      r.sampled_items = t.sampled_items;
    }
  } else {
    if (beyond) {
      r.preview = nullptr;
      r.sampled_items = 0;
    } else {
      Shrunk s = sample_value(v, budget, std::nullopt);
      r.preview = std::move(s.value);
      r.sampled_items = 1;
    }
  }
  return r;
}

// The preview of `value` within `budget` characters, sizes not filled in. `preview_chars` is
// set when the search already knows the preview's size.
PreviewResult build(const json::value& value, const PreviewRequest& request, std::size_t budget,
                    std::size_t total_chars, std::optional<std::size_t>& known_preview_chars) {
  PreviewResult r;
  switch (request.strategy) {
    case PreviewStrategy::kSample: {
      Shrunk s = sample_value(value, budget, total_chars);
      known_preview_chars = s.value_chars;
      r.preview = std::move(s.value);
      r.strategy = s.strategy;
      r.total_items = s.total_items;
      r.sampled_items = s.sampled_items;
      if (s.shrunk) r.omitted["nesting_shrunk"] = true;
      break;
    }
    case PreviewStrategy::kPaginate:
      r = paginate(value, request, budget);
      break;
    case PreviewStrategy::kTruncate: {
      r.strategy = PreviewStrategy::kTruncate;
      if (value.is_array()) r.total_items = value.get_array().size();
      if (value.is_object()) r.total_items = value.get_object().size();
      if (total_chars <= budget) {
        r.preview = value;
        r.sampled_items = r.total_items;
        if (value.is_string()) r.total_items = r.sampled_items = code_points(value.get_string());
      } else {
        Shrunk t = value.is_string() ? truncate_text(value.get_string(), budget)
                                     : truncate_text(jsonio::to_string(value), budget);
        r.preview = std::move(t.value);
        r.sampled_items = t.sampled_items;
        if (value.is_string()) r.total_items = t.total_items;
      }
      break;
    }
    case PreviewStrategy::kShape:  // generate_preview builds shapes (generate_shape)
      break;
  }
  return r;
}

// Token mode with a tokenizer. The searches work in characters; the character budget starts
// from the value's own characters per token, and each round corrects it by the token count of
// the preview it built (a secant step within the budgets known to fit and to overflow). The
// largest preview that fits is kept; rounds stop once one fills 90 % of the budget.
PreviewResult generate_with_tokenizer(const json::value& value, const PreviewRequest& request,
                                      const Tokenizer& tokenizer, std::size_t total_chars) {
  auto tokens_of = [&](const json::value& v) { return tokenizer.count(jsonio::to_string(v)); };
  const std::size_t total_tokens = tokenizer.count(text_of(value, total_chars));
  const std::size_t max_tokens = request.max_size;
  const double chars_per_token =
      total_tokens ? static_cast<double>(total_chars) / static_cast<double>(total_tokens) : 4.0;
  std::size_t budget =
      total_tokens <= max_tokens
          ? std::max<std::size_t>(total_chars, 1)
          : std::max<std::size_t>(
                static_cast<std::size_t>(static_cast<double>(max_tokens) * chars_per_token), 1);
  std::optional<PreviewResult> best, last;
  std::size_t best_tokens = 0, last_tokens = 0;
  std::size_t fits = 0, overflows = std::numeric_limits<std::size_t>::max();
  for (int round = 0; round < 8; ++round) {
    std::optional<std::size_t> unused;
    PreviewResult r = build(value, request, budget, total_chars, unused);
    const std::size_t t = tokens_of(r.preview);
    double next = 0;
    if (t <= max_tokens) {
      fits = budget;
      const bool full = t * 10 >= max_tokens * 9 || budget >= total_chars;
      if (!best || t > best_tokens) {
        best = std::move(r);
        best_tokens = t;
      }
      if (full) break;
      next = static_cast<double>(budget) * static_cast<double>(max_tokens) /
             static_cast<double>(std::max<std::size_t>(t, 1));
    } else {
      overflows = budget;
      last = std::move(r);
      last_tokens = t;
      next = static_cast<double>(budget) * static_cast<double>(max_tokens) /
             static_cast<double>(t) * 0.95;
    }
    if (fits + 1 >= overflows) break;
    budget = std::clamp(static_cast<std::size_t>(std::max(next, 1.0)), fits + 1, overflows - 1);
  }
  // No budget fitted (a budget too small for even the smallest preview): the smallest tried.
  PreviewResult r = best ? std::move(*best) : std::move(*last);
  r.original_size = total_tokens;
  r.preview_size = best ? best_tokens : last_tokens;
  return r;
}

const Tokenizer& tokenizer_for(TokenCounter t) {
  return Tokenizer::get(t == TokenCounter::kCl100kBase ? Encoding::kCl100kBase
                                                       : Encoding::kO200kBase);
}

// Fills r.complete and the omissions the strategies' counts tell (r.omitted may already say
// that nesting was shrunk). `total_chars` is the whole value's size.
void state_omissions(const json::value& value, PreviewResult& r, std::size_t total_chars) {
  const std::size_t preview_chars = chars_of(r.preview);
  r.complete = preview_chars == total_chars && r.preview == value;
  if (r.complete) {
    r.omitted.clear();
    return;
  }
  const std::size_t total = r.total_items.value_or(0), shown = r.sampled_items.value_or(0);
  const bool container = value.is_array() || value.is_object();
  if (value.is_string()) {
    // Code points of the string that were cut off (or lie on other pages).
    if (total > shown) r.omitted["characters"] = total - shown;
  } else if (!container && r.strategy == PreviewStrategy::kPaginate) {
    // A scalar too large for the budget, as its JSON text cut (quotes and "..." added).
    const std::size_t kept = preview_chars > 5 ? preview_chars - 5 : 0;
    if (total_chars > kept) r.omitted["characters"] = total_chars - kept;
  } else if (!container || r.strategy == PreviewStrategy::kTruncate) {
    // The JSON text cut: sampled_items counts the code points kept.
    if (total_chars > shown) r.omitted["characters"] = total_chars - shown;
  } else if (total > shown) {
    r.omitted["items"] = total - shown;
  }
}

}  // namespace

std::size_t measure_units(const json::value& v, const PreviewConfig& c,
                          std::optional<std::size_t> known_chars) {
  if (sizes_from_characters(c)) return to_units(known_chars ? *known_chars : chars_of(v), c);
  return tokenizer_for(c.token_counter).count(text_of(v, known_chars));
}

bool exceeds_units(const json::value& v, const PreviewConfig& c, std::size_t limit) {
  const jsonio::TextSize size = jsonio::measure(v);
  if (sizes_from_characters(c)) return to_units(size.code_points, c) > limit;
  // Every token holds at least one byte: a text of no more bytes than the limit is not counted.
  if (size.bytes <= limit) return false;
  return tokenizer_for(c.token_counter).exceeds(jsonio::to_string_of_size(v, size.bytes), limit);
}

PreviewResult generate_preview(const json::value& value, const PreviewRequest& request,
                               const PreviewConfig& config) {
  if (request.page && *request.page < 1) throw InvalidArgument("page must be at least 1");
  if (request.page_size && *request.page_size < 1)
    throw InvalidArgument("page_size must be at least 1");
  const std::size_t budget = budget_chars(request, config);
  if (request.strategy == PreviewStrategy::kShape)
    return detail::generate_shape(value, request, config);
  const std::size_t total_chars =
      request.known_total_chars ? *request.known_total_chars : chars_of(value);
  PreviewResult r;
  if (!sizes_from_characters(config)) {
    r = generate_with_tokenizer(value, request, tokenizer_for(config.token_counter), total_chars);
  } else {
    std::optional<std::size_t> known_preview_chars;
    r = build(value, request, budget, total_chars, known_preview_chars);
    r.original_size = to_units(total_chars, config);
    r.preview_size =
        to_units(known_preview_chars ? *known_preview_chars : chars_of(r.preview), config);
  }
  state_omissions(value, r, total_chars);
  return r;
}

}  // namespace refcache
