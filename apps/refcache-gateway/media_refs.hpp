// Media by reference: with `media: "ref"` (file, server or tool setting), every image and audio
// block of an upstream result, and every embedded resource, is stored in the cache and
// replaced by a resource_link to refcache://{ref_id}. The client fetches an item only if it
// wants it (resources/read answers it with its own MIME type, as a blob or as text), and tools
// take the ref in place of the data: the base64 text of binary content, the text of a text
// resource. Text blocks, resource links and structuredContent are left as they are.
//
// Each item is stored like an intercepted result (result_scope(): the caller's namespace,
// session binding and quota), with metadata {upstream, source: "image" | "audio" |
// "resource", mime_type, encoding: "base64" for binary content, uri: an embedded resource's
// own URI}. A block that is not well formed (no data, no MIME type) passes as it is.
//
// Thread-safety: a pure function over a thread-safe RefCache.
#pragma once

#include "mcp/types.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/ref_cache.hpp"
#include "result_interception.hpp"

namespace gateway {

// `result` with its media stored and linked (see above); `options` names the upstream and the
// tool.
mcp::CallToolResult media_by_reference(refcache::RefCache& cache, const refcache::CallIdentity& who,
                                       mcp::CallToolResult result, const InterceptOptions& options);

}  // namespace gateway
