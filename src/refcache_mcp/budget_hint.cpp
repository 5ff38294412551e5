#include "refcache_mcp/budget_hint.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <string>

#include "jsonio/json_text.hpp"
#include "refcache/tokenizer.hpp"

namespace refcache::mcp {
namespace json = boost::json;

namespace {

// Rounds of measuring and lowering before the minimal answer is given. Each round lowers the
// budget by at least one unit and usually by the whole overshoot, so a few suffice; the bound
// keeps a pathological value (one whose envelope grows as its preview shrinks) from looping.
constexpr int kFitRounds = 8;

// Characters per token assumed for a first budget with a tokenizer (see initial_budget).
constexpr std::size_t kTokenizerCharsPerToken = 3;

// A positive integer hint, or nothing (and why, for the log).
std::optional<std::size_t> positive_integer(const json::value& v, std::string_view& why) {
  std::optional<std::uint64_t> n;
  if (v.is_int64()) {
    if (v.get_int64() > 0) n = static_cast<std::uint64_t>(v.get_int64());
  } else if (v.is_uint64()) {
    n = v.get_uint64();
  } else if (v.is_double()) {
    const double d = v.get_double();
    if (std::isfinite(d) && d > static_cast<double>(kMaxHint)) {
      why = "larger than the largest hint accepted";
      return std::nullopt;
    }
    if (std::isfinite(d) && d > 0 && std::trunc(d) == d) n = static_cast<std::uint64_t>(d);
  } else {
    why = "not a number";
    return std::nullopt;
  }
  if (!n || *n == 0) {
    why = "not a positive integer";
    return std::nullopt;
  }
  if (*n > kMaxHint) {
    why = "larger than the largest hint accepted";
    return std::nullopt;
  }
  return static_cast<std::size_t>(*n);
}

std::optional<std::size_t> read_hint(const json::object& meta, std::string_view key) {
  const json::value* v = meta.if_contains(key);
  if (v == nullptr) return std::nullopt;
  std::string_view why;
  auto n = positive_integer(*v, why);
  if (!n) spdlog::debug("budget hint {} ignored: {}", key, why);
  return n;
}

// UTF-16 code units of UTF-8 `s`: one per code point, two for one outside the BMP (a four-byte
// sequence). Continuation bytes count nothing; a stray byte counts as one.
std::size_t utf16_units(std::string_view s) {
  std::size_t n = 0;
  for (const char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    if ((b & 0xC0) == 0x80) continue;
    n += (b >= 0xF0 && b <= 0xF7) ? 2 : 1;
  }
  return n;
}

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (const char ch : s)
    if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++n;
  return n;
}

// Tokens of `text` as the hint counts them (header comment).
std::size_t text_tokens(std::string_view text, const PreviewConfig& config) {
  if (config.size_mode == SizeMode::kCharacter) return text.size();  // UTF-8 bytes
  switch (config.token_counter) {
    case TokenCounter::kO200kBase:
      return Tokenizer::get(Encoding::kO200kBase).count(text);
    case TokenCounter::kCl100kBase:
      return Tokenizer::get(Encoding::kCl100kBase).count(text);
    case TokenCounter::kChars4:
      break;
  }
  const std::size_t per = std::max<std::size_t>(config.chars_per_token, 1);
  return (code_points(text) + per - 1) / per;
}

// The text of `r`'s text content blocks, concatenated.
std::string result_text(const ::mcp::CallToolResult& r) {
  std::string s;
  for (const auto& b : r.content) {
    if (!b.is_object()) continue;
    const auto& o = b.get_object();
    const auto* type = o.if_contains("type");
    const auto* text = o.if_contains("text");
    if (type != nullptr && *type == "text" && text != nullptr && text->is_string())
      s.append(text->get_string().data(), text->get_string().size());
  }
  return s;
}

// A text's size in the units of the hints given (0 for a hint not given).
struct Measured {
  std::size_t chars = 0;
  std::size_t tokens = 0;
};

Measured measure_text(std::string_view text, const BudgetHint& hint, const PreviewConfig& config) {
  Measured m;
  if (hint.max_chars) m.chars = utf16_units(text);
  if (hint.max_tokens) m.tokens = text_tokens(text, config);
  return m;
}

bool within(const Measured& m, const BudgetHint& hint) {
  return (!hint.max_chars || m.chars <= *hint.max_chars) &&
         (!hint.max_tokens || m.tokens <= *hint.max_tokens);
}

// The budget that should make an answer measured at `whole` (with `shown` of it the preview
// or value, built with `budget`, which measures `shown_units` in cache units when known) fit
// one limit: the part of the limit left after the envelope, as a share of what the shown
// part takes now. 0 when the envelope alone is over the limit.
std::size_t next_budget(std::size_t budget, std::size_t shown_units, std::size_t whole,
                        std::size_t shown, std::size_t limit) {
  const std::size_t envelope = whole > shown ? whole - shown : 0;
  if (envelope >= limit || shown == 0) return 0;
  const std::size_t base = std::min(budget, std::max<std::size_t>(shown_units, 1));
  const double share = static_cast<double>(limit - envelope) / static_cast<double>(shown);
  return static_cast<std::size_t>(std::floor(static_cast<double>(base) * share));
}

}  // namespace

BudgetHint budget_hint_from(const json::object& meta) {
  BudgetHint h;
  h.max_chars = read_hint(meta, kMaxResultSizeCharsKey);
  h.max_tokens = read_hint(meta, kMaxResultTokensKey);
  return h;
}

std::size_t result_text_chars(const ::mcp::CallToolResult& r) {
  return utf16_units(result_text(r));
}

std::size_t result_text_tokens(const ::mcp::CallToolResult& r, const PreviewConfig& config) {
  // Tokens are counted over the whole text, not block by block: a tokenizer's count of a
  // concatenation can differ from the sum of its parts.
  return text_tokens(result_text(r), config);
}

bool fits_hint(const ::mcp::CallToolResult& r, const BudgetHint& hint,
               const PreviewConfig& config) {
  if (hint.empty()) return true;
  return within(measure_text(result_text(r), hint, config), hint);
}

std::size_t initial_budget(const BudgetHint& hint, std::size_t max_size,
                           const PreviewConfig& config) {
  std::size_t b = max_size;
  const bool tokens = config.size_mode == SizeMode::kToken;
  if (hint.max_chars) {
    std::size_t units = *hint.max_chars;
    if (tokens)
      units /= config.token_counter == TokenCounter::kChars4
                   ? std::max<std::size_t>(config.chars_per_token, 1)
                   : kTokenizerCharsPerToken;
    b = std::min(b, units);
  }
  // A token hint in token mode is in the budget's own unit. In character mode tokens are
  // counted as UTF-8 bytes, and a text of T bytes has at most T characters.
  if (hint.max_tokens) b = std::min(b, *hint.max_tokens);
  return std::max<std::size_t>(b, 1);
}

::mcp::CallToolResult minimal_answer(std::string_view ref_id, const BudgetHint& hint,
                                     const PreviewConfig& config) {
  std::string limit;
  if (hint.max_chars) limit = std::to_string(*hint.max_chars) + " characters";
  if (hint.max_tokens)
    limit += (limit.empty() ? "" : " and ") + std::to_string(*hint.max_tokens) + " tokens";
  json::object with_message{{"ref_id", ref_id},
                            {"is_complete", false},
                            {"nothing_fits", true},
                            {"message", "Nothing of the result fits the " + limit +
                                            " this call accepts. Read it with "
                                            "get_cached_result(ref_id), or pass the ref_id to "
                                            "tools."}};
  auto answer = ::mcp::CallToolResult::structured(with_message);
  if (fits_hint(answer, hint, config)) return answer;
  json::object bare{{"ref_id", ref_id}, {"is_complete", false}, {"nothing_fits", true}};
  answer = ::mcp::CallToolResult::structured(bare);
  if (fits_hint(answer, hint, config)) return answer;
  bare["answer_exceeds_hint"] = true;
  return ::mcp::CallToolResult::structured(std::move(bare));
}

::mcp::CallToolResult fit_to_hint(const BudgetHint& hint, std::size_t max_size,
                                  const PreviewConfig& config, const BudgetedAnswer& answer) {
  if (hint.empty()) return answer(max_size);
  std::size_t budget = initial_budget(hint, max_size, config);
  std::string ref_id;
  for (int round = 0; round < kFitRounds; ++round) {
    ::mcp::CallToolResult r = answer(budget);
    if (r.is_error || !r.structured_content || !r.structured_content->is_object()) return r;
    const json::object& body = r.structured_content->get_object();
    const json::value* ref = body.if_contains("ref_id");
    if (ref == nullptr || !ref->is_string()) return r;
    ref_id = std::string(ref->get_string());
    const std::string text = result_text(r);
    const Measured whole = measure_text(text, hint, config);
    if (within(whole, hint)) return r;

    // What the answer shows of the value, and its size in cache units when the answer says.
    const json::value* shown = body.if_contains("preview");
    if (shown == nullptr) shown = body.if_contains("value");
    if (shown == nullptr) break;
    const Measured part = measure_text(jsonio::to_string(*shown), hint, config);
    std::size_t shown_units = budget;
    for (const char* k : {"preview_size", "size"})
      if (const json::value* s = body.if_contains(k); s != nullptr && s->is_number()) {
        shown_units = static_cast<std::size_t>(s->to_number<double>());
        break;
      }
    std::size_t next = budget;
    if (hint.max_chars)
      next = std::min(next,
                      next_budget(budget, shown_units, whole.chars, part.chars, *hint.max_chars));
    if (hint.max_tokens)
      next = std::min(
          next, next_budget(budget, shown_units, whole.tokens, part.tokens, *hint.max_tokens));
    // Each round lowers the budget below what the answer just showed.
    next = std::min(next, std::min(budget, std::max<std::size_t>(shown_units, 1)) - 1);
    if (next == 0) break;
    budget = next;
  }
  return minimal_answer(ref_id, hint, config);
}

}  // namespace refcache::mcp
