// Budget hints: how much of a tool result a client says it can take, read from the request's
// params._meta, and the fitting of an answer to it. A hint only ever lowers a call's budget:
// the smallest of the server's maximum, the tool's max_size, the caller's max_size argument
// and the hint wins. The keys (docs/previews.md, "Budgets a client asks for"):
//   - "anthropic/maxResultSizeChars": characters of the tool result's text that the client
//     accepts (Claude Code sends it). Characters are counted as UTF-16 code units, what a
//     JavaScript client's String.length gives; that is never fewer than Unicode code points,
//     so an answer that fits by this count fits a client that counts code points too.
//   - "refcache/maxResultTokens": tokens of the tool result's text, counted as this server's
//     cache counts them: its tokenizer (o200k_base, cl100k_base) or its ceil(chars / N)
//     approximation in token size mode; in character size mode, where no counter is
//     configured, by the text's UTF-8 bytes, an upper bound of the token count of every
//     byte-level BPE encoding (each token stands for at least one byte).
// The text measured is the concatenation of the result's text content blocks (the JSON
// mirror of structuredContent the cached tools answer with); other blocks (a resource_link)
// are not text and are not counted. Both hints may be given; the answer then fits both.
//
// Fitting (fit_to_hint) is measured, not estimated: the answer is built with a first budget
// derived from the hint, its text is measured, and while it is over the hint the budget is
// lowered by what the measure shows (the envelope -- ref_id, message, omitted, sizes -- is the
// part of the text that is not the preview, and is taken off the hint), for a bounded number
// of rounds. An answer that still does not fit becomes the smallest answer there is: the ref
// id and the statement that nothing of the value fits ("nothing_fits": true); when even that
// is longer than the hint it says so too ("answer_exceeds_hint": true). It is never an error.
//
// Thread-safety: pure functions; fit_to_hint calls `answer` on the calling thread.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>

#include "mcp/types.hpp"
#include "refcache/preview.hpp"

namespace refcache::mcp {

// The _meta key of a character hint (Anthropic's, as Claude Code sends it).
inline constexpr std::string_view kMaxResultSizeCharsKey = "anthropic/maxResultSizeChars";
// The _meta key of a token hint (ours).
inline constexpr std::string_view kMaxResultTokensKey = "refcache/maxResultTokens";
// Hints above this are ignored as invalid: no answer is that large, and a value so large is
// more likely a mistake than a budget.
inline constexpr std::size_t kMaxHint = 1'000'000'000;

// What a client asked for; unset = no hint of that kind.
struct BudgetHint {
  std::optional<std::size_t> max_chars{};   // anthropic/maxResultSizeChars
  std::optional<std::size_t> max_tokens{};  // refcache/maxResultTokens
  bool empty() const { return !max_chars && !max_tokens; }
};

// The hints of a request's params._meta. A hint that is not a positive integer (negative,
// zero, fractional, a string, larger than kMaxHint) is ignored, and the log says which key was
// ignored and why at debug level, never its value.
BudgetHint budget_hint_from(const boost::json::object& meta);

// Characters of `r`'s text content (UTF-16 code units, as above).
std::size_t result_text_chars(const ::mcp::CallToolResult& r);
// Tokens of `r`'s text content, as above for `config`.
std::size_t result_text_tokens(const ::mcp::CallToolResult& r, const PreviewConfig& config);
// True when `r`'s text content is within every hint of `hint`.
bool fits_hint(const ::mcp::CallToolResult& r, const BudgetHint& hint, const PreviewConfig& config);

// The first budget (units of config.size_mode) to build an answer with: `max_size` lowered to
// what the hint allows before the envelope is measured. A character hint in token mode starts
// at chars / chars_per_token (the approximation) or chars / 3 (a tokenizer: JSON and prose
// average more than three characters per o200k_base or cl100k_base token); a token hint in
// character mode, where tokens are counted as UTF-8 bytes, starts at the token count, since a
// text of T bytes has at most T characters. Either is then corrected by measuring.
std::size_t initial_budget(const BudgetHint& hint, std::size_t max_size,
                           const PreviewConfig& config);

// The smallest answer about `ref_id` that fits `hint`: the ref id, "is_complete": false,
// "nothing_fits": true and, when it fits, a message saying how to read the value; when not
// even the ref id and that statement fit, they are answered with "answer_exceeds_hint": true.
::mcp::CallToolResult minimal_answer(std::string_view ref_id, const BudgetHint& hint,
                                     const PreviewConfig& config);

// Builds an answer with `answer(budget)` for budgets from initial_budget(hint, max_size) down,
// until its text fits `hint` (see the header comment), and returns it. Without a hint, the
// answer for `max_size`. Tool errors, and answers without a ref_id in their structuredContent
// (nothing to point to instead), are returned as built.
using BudgetedAnswer = std::function<::mcp::CallToolResult(std::size_t budget)>;
::mcp::CallToolResult fit_to_hint(const BudgetHint& hint, std::size_t max_size,
                                  const PreviewConfig& config, const BudgetedAnswer& answer);

}  // namespace refcache::mcp
