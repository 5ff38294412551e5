// Private results: the answer to a call whose arguments used values the caller may only
// EXECUTE (use without seeing). The upstream received those values, and nothing stops it from
// echoing them, so by default nothing it answers reaches the caller: its result -- or its
// failure, since whether a computation on private values fails is itself a fact about them --
// is stored as a private derived value (the rules of private computation, docs/concepts.md):
// nobody may READ it (refcache::withheld_policy), it is marked kDerivedFromPrivate, it is kept
// at least as strictly as every input (policies combined by stricter_of, a scoped namespace
// of an input kept when the caller's own is not scoped), and its size is not told. The
// caller gets a ref it can pass to other tools, whatever the result's size.
//
// The call itself is confined too (tool_forwarding.cpp): its progress, log messages and
// requests to the client are dropped, and it is never answered from the response cache.
//
// Thread-safety: a pure function over a thread-safe RefCache.
#pragma once

#include "mcp/types.hpp"
#include "ref_arguments.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/ref_cache.hpp"
#include "result_interception.hpp"

namespace gateway {

// The answer to a private computation that gave `result` (an error result for a failure):
// {"ref_id", "value_withheld": true, "is_complete": false, "total_items": null, "message"} as
// structuredContent with its JSON text, the way our cached tools answer a result computed
// from private inputs. `options` names the upstream and the tool (threshold and preview size
// play no part).
mcp::CallToolResult withhold(refcache::RefCache& cache, const refcache::CallIdentity& who,
                             mcp::CallToolResult result, const ResolvedArguments& inputs,
                             const InterceptOptions& options);

}  // namespace gateway
