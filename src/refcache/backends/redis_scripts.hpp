// The Lua scripts of RedisBackend (private): every write that touches an entry together with
// its namespace index, key bindings or the events channel, done atomically on the server.
// Each function below returns one script and states its contract: the KEYS it declares, its
// ARGV and its reply. In cluster mode every key a script declares or derives lies in one
// hash slot (the ref group's prefix P, "<prefix>{g<n>}:"), except binding keys: those a
// script cannot reach are returned as "foreign" (binding key, ref) pairs, which the client
// deletes where the binding still names the ref; a script that a slot migration interrupted
// is run again (docs/backends.md, "Redis Cluster"). The key layout the scripts maintain is
// the one every server sharing the Redis reads (docs/backends.md, "Keys").
//
// Thread-safety: each Script is built on first use (a function-local static) and immutable
// afterwards; any thread may use any script.
#pragma once

#include <string>

namespace refcache::redis_detail {

// A script's text and its SHA-1 (lowercase hex), for EVALSHA with EVAL as the fallback.
struct Script {
  explicit Script(std::string text);
  std::string body;
  std::string sha;
};

// KEYS: entry, namespace index, namespaces set, [binding, refbind] (single node) or
// [refbind] (cluster: the binding key, in another slot, is ARGV[9] and set by the client).
// ARGV: blob, ttl_ms or '', ref, ns, index score (expiry in ms, or '+inf'), prefix, events
// channel or '', origin, [binding key]
// Returns {overwrote (0/1), displaced ref or '', displaced ns or '', foreign pairs...}.
const Script& set_script();

// KEYS: entry (for routing; unused). ARGV: prefix, ref, events channel or '', origin,
// [binding key: remove only if the ref is still bound to it (cluster displacement)].
// Returns {1, ns, foreign pairs...} when an entry was removed, else {0, '', foreign...}.
const Script& remove_script();

// KEYS: namespace index, namespaces set. ARGV: now_ms, cursor score, cursor ref ('' for the
// start), limit, prefix, ns. The index is ordered by (score, ref); a page starts after the
// cursor's position, found by adding a probe member just after it (the cursor's ref followed
// by a NUL byte, which no ref id contains), reading its rank and removing it, all inside this
// script, so that paging is exact even when the cursor's own ref is gone meanwhile.
// Returns {id, score, id, score, ..., more (0/1)}.
const Script& list_script();

// KEYS: namespace index, namespaces set. ARGV: prefix, batch, ns.
// Returns {removed, left, foreign pairs...}.
const Script& clear_script();

// KEYS: binding. ARGV: prefix. Returns {ref, blob} or {}.
const Script& find_script();

// Cluster: KEYS: refbind, entry of the ref a binding names; ARGV: the binding key. Returns
// the entry's blob if the ref is still bound to that key, else nil.
const Script& find_bound_script();

// Cluster: KEYS: binding. ARGV: ref, ttl_ms or ''. Binds; returns the ref bound before or ''.
const Script& bind_script();

// Cluster: KEYS: the layout key. ARGV: our layout. Records it if none is; returns the one
// recorded.
const Script& layout_script();

// KEYS: claim. ARGV: owner, ttl_ms. Returns 1 when owner holds the claim.
const Script& claim_script();

// KEYS: claim or binding. ARGV: owner or ref. Deletes the key if it still holds that value.
// Returns 0.
const Script& release_script();

// KEYS: entry. ARGV: prefix, ref, dry run ("1": change nothing). Adds an unindexed entry to
// its namespace index. Returns 1 if it was added (would be, in a dry run).
const Script& index_script();

// KEYS: namespaces set. ARGV: prefix, now_ms, limit per namespace, events channel or '',
// origin. Removes due members of every expiry index (and their entries and bindings, if
// still there) and publishes one 'expired' event each. Returns {ref, ns, ref, ns, ...}.
const Script& sweep_script();

}  // namespace refcache::redis_detail
