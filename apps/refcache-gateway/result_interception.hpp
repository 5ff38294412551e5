// Result interception: an upstream tool result larger than its threshold is stored in the
// cache and answered with a ref and a preview, the way the cached tools of our own servers
// answer (structuredContent {"ref_id","preview","is_complete":false,...} with its JSON text,
// and a resource_link to refcache://{ref_id}), so that get_cached_result pages it and other
// tools take the ref. A result at or under the threshold is returned as the upstream gave it.
//
// Size: the compact JSON of the whole result (every content block and structuredContent), in
// the cache's size units (tokens by default; refcache::exceeds_units, which stops counting
// past the threshold). What is stored:
//   - structuredContent, when present and more than a copy of the one text block (a
//     structuredContent {"content": TEXT} beside a text block TEXT counts as the text);
//   - otherwise the text of the text blocks: one block's text as the JSON it holds when it is
//     a JSON object or array, else as a string (paged by characters); several blocks as a
//     list of such values.
// A JSON text that is not the compact JSON of its value (indented, spaced, escaped otherwise)
// is also stored as it was written, under a second ref that the first one's metadata names
// (kOriginalTextRef), so that the text itself can be passed on byte for byte; a compact text
// is what the value gives a string parameter anyway, and is stored once.
// Content blocks that are not text (images, audio, embedded resources, links) are passed on
// after the ref. A result with neither structuredContent nor text is passed through whole.
// A client's budget hint (refcache_mcp/budget_hint.hpp: anthropic/maxResultSizeChars,
// refcache/maxResultTokens) is the threshold of that call as well as the preview's budget: a
// result whose text is over the hint is stored and answered with a preview that fits it,
// even when it is under `threshold`. (ToolForwarding also passes the hint on to the upstream,
// so that a refcache upstream answers a ref of its own whose preview fits.)
// The stored entry records the upstream and the tool; it is scoped like the cached tools'
// results (the cache's namespace template and session binding) and charged to the caller's
// quota.
//
// Thread-safety: a pure function over a thread-safe RefCache.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>
#include <cstddef>
#include <optional>
#include <string>

#include "mcp/types.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache_mcp/budget_hint.hpp"

namespace gateway {

// Metadata member of a ref stored from a JSON text: the ref of that text, as written.
inline constexpr const char* kOriginalTextRef = "original_text_ref";

struct InterceptOptions {
  std::size_t threshold = 10000;     // size (cache units) above which a result becomes a ref
  std::size_t preview_size = 1000;   // the preview's budget (cache units)
  std::string upstream{};            // the upstream's name, kept with the entry
  std::string tool{};                // the tool's name as clients call it
  refcache::mcp::BudgetHint hint{};  // what the client can take (none: no hint)
};

// What a result is stored as (the rules above).
struct StoredForm {
  boost::json::value value{};   // what is stored
  std::string source{};         // structuredContent, json_text, text, text_blocks
  boost::json::array others{};  // the blocks that are not text, in order
  // The JSON text `value` was parsed from, when it is not `value`'s compact JSON (which a ref
  // to `value` gives a string parameter anyway).
  std::optional<boost::json::string> original_text{};
};

// `result` taken apart into its stored form (its blocks are moved out, and a structuredContent
// that only wraps the text is dropped); nullopt, with `result` untouched, when it has neither
// structuredContent nor text.
std::optional<StoredForm> stored_form(mcp::CallToolResult& result);

// The namespace, policy and quota principal of a result stored for `who`: the cache's call
// defaults (namespace template, session binding), as CachedCall scopes its own. Throws
// InvalidArgument when results are session-bound and the call has no session.
refcache::SetOptions result_scope(const refcache::RefCache& cache,
                                  const refcache::CallIdentity& who);

// The output schema the gateway lists for a tool whose upstream lists `upstream_schema`: its
// structuredContent is either the upstream's (a result passed through) or a ref answer (an
// object with a string ref_id: a large result, a withheld one, an answer fitted to a budget
// hint), so {"type": "object", "anyOf": [upstream_schema, ref answer]}. Null when the upstream
// lists none (then the gateway lists none either).
boost::json::value published_output_schema(const boost::json::value& upstream_schema);

// `result` as the client receives it: unchanged, or as a ref with a preview.
mcp::CallToolResult intercept(refcache::RefCache& cache, const refcache::CallIdentity& who,
                              mcp::CallToolResult result, const InterceptOptions& options);

}  // namespace gateway
