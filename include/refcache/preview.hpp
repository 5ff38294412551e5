// Previews: a size-bounded view of a large value, the thing an agent sees instead of it.
//
// Three strategies as in the reference, and one of ours:
//   sample    (default) evenly spaced items of a list or members of an object, first and last
//             kept; strings are truncated; nested values are shrunk when even one item does
//             not fit (the reference returns that item whole, however large);
//   paginate  one page of items (or, for a string, of characters), trimmed to the budget;
//   truncate  the compact JSON text cut to fit, ending in "...";
//   shape     a description of the value instead of its items: inferred structure (keys,
//             types, nullability, nesting, array lengths), per-field statistics (count,
//             distinct estimate, min/max of numbers and ISO-8601 dates, most frequent
//             strings) and the first rows, degraded to fit (src/refcache/preview_shape.hpp).
//             One pass over the value, in memory bounded by the shape's limits.
// Every result says whether it is the whole value (`complete`) and, when it is not, what it
// leaves out (`omitted`), so that no preview can be taken for the whole value.
// Sizes are measured on the compact JSON actually returned (jsonio), in characters (Unicode
// code points) or tokens. Tokens are counted exactly by an OpenAI encoding's tokenizer
// (o200k_base by default, or cl100k_base; refcache/tokenizer.hpp), or approximated as
// ceil(characters / 4) (TokenCounter::kChars4, the rule to use for Claude models, whose
// tokenizer is not available offline; its error against Claude's counts is not measured).
// The searches work in characters: each item is measured at most once per search. With a
// tokenizer, the character budget is derived from the value's own characters per token and
// then corrected from the token count of the preview built (a few rounds, each tokenizing
// only the preview), so that the preview's tokens stay within the budget; the whole value is
// tokenized once, for original_size.
// Thread-safety: generate_preview is stateless (the tokenizers are immutable and shared);
// it may run concurrently.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace refcache {

enum class SizeMode { kToken, kCharacter };
enum class PreviewStrategy { kSample, kPaginate, kTruncate, kShape };

std::string_view to_string(SizeMode m);         // "token", "character"
std::string_view to_string(PreviewStrategy s);  // "sample", "paginate", "truncate", "shape"
std::optional<SizeMode> size_mode_from_string(std::string_view s);
std::optional<PreviewStrategy> preview_strategy_from_string(std::string_view s);

// How token mode counts tokens.
enum class TokenCounter {
  kO200kBase,   // exactly, with o200k_base (GPT-4o, GPT-4.1, o-series)
  kCl100kBase,  // exactly, with cl100k_base (GPT-4, GPT-3.5)
  kChars4,      // approximately: ceil(characters / chars_per_token)
};

std::string_view to_string(TokenCounter t);  // "o200k_base", "cl100k_base", "chars4"
std::optional<TokenCounter> token_counter_from_string(std::string_view s);

struct PreviewConfig {
  SizeMode size_mode = SizeMode::kToken;  // the reference's default
  std::size_t max_size = 1000;            // in size_mode units; must be > 0
  PreviewStrategy default_strategy = PreviewStrategy::kSample;
  // Token mode: the tokenizer, or kChars4 for the approximation (Claude models: see above).
  TokenCounter token_counter = TokenCounter::kO200kBase;
  std::size_t chars_per_token = 4;  // kChars4: tokens = ceil(chars / this); must be > 0
};

// True when sizes follow from character counts alone: character mode, or token mode with the
// kChars4 approximation. to_units needs it; with a tokenizer, measure_units counts tokens.
inline bool sizes_from_characters(const PreviewConfig& c) {
  return c.size_mode == SizeMode::kCharacter || c.token_counter == TokenCounter::kChars4;
}

// Converts a character count to the configured unit. REQUIRES: sizes_from_characters(c).
inline std::size_t to_units(std::size_t chars, const PreviewConfig& c) {
  if (c.size_mode == SizeMode::kCharacter) return chars;
  return (chars + c.chars_per_token - 1) / c.chars_per_token;
}

// Size of `v`'s compact JSON in the configured unit (characters, tokens, or the approximation).
// `known_chars`, when given, is that text's length in code points (an entry's total_chars):
// the characters need no count, and a tokenizer's text is written into room of that size at
// once rather than grown to up to twice it by copies, which matters for values of hundreds of
// megabytes.
std::size_t measure_units(const boost::json::value& v, const PreviewConfig& c,
                          std::optional<std::size_t> known_chars = std::nullopt);

// Whether measure_units(v, c) > limit. With a tokenizer, counting stops past the limit: a
// value far larger than the limit costs its text and about `limit` tokens, not a full count.
bool exceeds_units(const boost::json::value& v, const PreviewConfig& c, std::size_t limit);

struct PreviewRequest {
  std::size_t max_size = 1000;  // units of `config.size_mode`
  PreviewStrategy strategy = PreviewStrategy::kSample;
  // shape only: structure and counts, never values: keys, types, null and missing counts,
  // array lengths; no example rows, no min/max, no distinct counts, no frequent values. The
  // counts can single out an item, so a caller that may not read the value gets
  // execute_only_min_items instead.
  bool structure_only = false;
  // shape only, for a caller that may EXECUTE the value but not READ it (RefCache::get):
  // when > 0, implies structure_only and shows still less. A key or a JSON type is named
  // only where at least this many values were seen at its place (the value's own type is
  // always named); nothing is said below a place not named. No count at all: no per-field
  // count, null or missing count, array length or count of each type; the value's own item
  // count (total_items, omitted.items) only when it has at least this many items; and the
  // result's original_size is 0 (not measured, not told). RefCache passes the release rule's
  // least item count (CallDefaults::release_min_items): nothing is said of fewer items than
  // a release may describe. 0: off.
  std::size_t execute_only_min_items = 0;
  std::optional<std::int64_t> page{};       // paginate: 1-based; REQUIRES >= 1
  std::optional<std::int64_t> page_size{};  // paginate: REQUIRES >= 1 (default 20)
  // Character count of the whole value's compact JSON, if already known (RefCache stores it
  // at set time), so that previews of huge values need not measure every item. With a
  // tokenizer the value is tokenized anyway (original_size), and this only saves a count.
  std::optional<std::size_t> known_total_chars{};
};

struct PreviewResult {
  boost::json::value preview{};
  PreviewStrategy strategy = PreviewStrategy::kSample;
  std::size_t original_size = 0;  // units
  std::size_t preview_size = 0;   // units
  std::optional<std::size_t> total_items{};
  std::optional<std::size_t> sampled_items{};
  std::optional<std::int64_t> page{};
  std::optional<std::int64_t> total_pages{};
  std::optional<std::int64_t> page_size{};
  // True when `preview` is the whole value, unchanged. False for every cut, sample, page
  // short of the whole and summary (shape).
  bool complete = false;
  // What the preview leaves out; empty exactly when `complete`. Members (each only when it
  // applies): "items" (items or members of the value not shown), "characters" (characters
  // of a string, or of the JSON text, cut off), "nesting_shrunk" (true: a nested value is
  // shown sampled), "summarised" (true: the preview describes the value, not its items),
  // "dropped" (parts of a shape left out to fit, as strings), "values_withheld" (a
  // structure-only shape), "counts_withheld" and "shown_if_seen_at_least" (k: always, with
  // execute_only_min_items), "cut_to_budget" (a custom
  // strategy's output was larger than the budget and was sampled: what that sampling left
  // out), "unstated" (a custom strategy did not say what it left out).
  boost::json::object omitted{};
};

inline constexpr std::int64_t kDefaultPageSize = 20;

// Builds the preview of `value`. Throws InvalidArgument for max_size 0, page < 1 or
// page_size < 1. A page past the end gives an empty page (never an error).
PreviewResult generate_preview(const boost::json::value& value, const PreviewRequest& request,
                               const PreviewConfig& config);

// What a custom preview strategy is given besides the value: its budget.
struct PreviewBudget {
  std::size_t max_size = 0;               // in size_mode units
  SizeMode size_mode = SizeMode::kToken;  // what max_size counts
  // The same budget in characters of compact JSON (in token mode, at the configured or
  // estimated characters per token: a guide, since the library measures the result itself).
  std::size_t max_chars = 0;
};

// What a custom preview strategy returns.
struct CustomPreview {
  boost::json::value preview{};  // any JSON
  // What the preview leaves out, in PreviewResult::omitted's terms (e.g. {"items": 95}).
  // Empty means "nothing": the library then checks that the preview is the whole value, and
  // states {"unstated": true} when it is not.
  boost::json::object omitted{};
};

// A custom preview strategy (RefCache::register_preview_strategy). It may be called
// concurrently and must not keep references to the value.
using PreviewFunction =
    std::function<CustomPreview(const boost::json::value& value, const PreviewBudget& budget)>;

// Runs a custom strategy on `value` and enforces what every preview promises: a result over
// request.max_size is sampled down to it (omitted.cut_to_budget says what that left out),
// `complete` is true only for the whole value, and a preview that is not the whole value
// states an omission. The result's strategy field is kSample (meaningless for a custom
// strategy: callers report the custom strategy's name). Throws what `fn` throws, and
// InvalidArgument for max_size 0.
PreviewResult generate_custom_preview(const boost::json::value& value, const PreviewFunction& fn,
                                      const PreviewRequest& request, const PreviewConfig& config);

}  // namespace refcache
