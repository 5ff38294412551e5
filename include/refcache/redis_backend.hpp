// RedisBackend: entries in a Redis (or Valkey) server shared by servers on many machines.
//
// Storage shared with mcp-refcache 0.2.1 (docs/backends.md): each entry is one JSON blob
// at "mcp-refcache:entry:<ref_id>" with a native TTL in milliseconds (the reference rounds
// down to whole seconds). What the reference lacks lives under other keys, which Python
// servers never read:
//   mcp-refcache:idx:<namespace>      sorted set of the namespace's ref ids scored by expiry
//                                     in ms (+inf: none), so that expired members are found
//                                     without reading entries; listing pages by (score, id)
//   mcp-refcache:namespaces           set of namespaces that have an index
//   mcp-refcache:bind:<n>:<ns>:<key>  ref id bound to (ns, key); n = byte length of ns
//   mcp-refcache:refbind:<ref_id>     set of the binding keys pointing at ref_id
//   mcp-refcache:claim:<name>         claim owner (SET NX PX semantics)
//   mcp-refcache:task:<ref_id>        task record JSON
// Every write that touches an entry and its index is atomic (MULTI/EXEC or one Lua script),
// so the index and the entries never disagree; listing and clearing a namespace cost O(namespace),
// not O(instance). Entries written by Python servers carry no index: reindex() adds them.
//
// Transport (redis_connection.hpp): our own sockets, plain TCP or TLS (rediss://), up to
// pool_size of them: a thread has one to itself while one is free; beyond that, threads share
// them and pipeline their commands.
// When Redis goes away, each call fails within socket_timeout (and call_timeout overall) with
// BackendUnavailable; idempotent reads are retried with backoff and jitter; a circuit breaker
// fails calls fast while Redis stays down and probes it back; reconnects are attempted with
// exponential backoff and calls succeed again once Redis is back. Entry blobs may be stored
// zstd-compressed (compress_min_bytes, off by default). Expired entries are announced as
// kExpired events by a periodic sweep of the expiry indexes.
// With RedisOptions::share_events, every change is also appended to the capped stream
// "mcp-refcache:events" (JSON ["<origin>","updated|deleted|cleared|expired","<ref_id>","<ns>"];
// in the script that makes the change, on a single node) and the changes of other processes
// reach this object's listeners, read from this object's last position so that none is lost
// while its connection is down; a stream trimmed past that position gives a kResync event
// (docs/backends.md, "Durable invalidation").
// The process ignores SIGPIPE from the moment a RedisBackend is created (a write to a
// closed socket must be an error, not the end of the process).
//
// Redis Cluster (RedisOptions::cluster_nodes, redis+cluster://): commands go to the primary
// of their key's hash slot, following MOVED/ASK and waiting out TRYAGAIN/CLUSTERDOWN; each
// ref's keys carry the hash tag of one of cluster_groups groups ("<prefix>{g<n>}:entry:..."),
// so every script stays in one slot, and listing, clearing and the expiry sweep visit every
// group (docs/backends.md, "Redis Cluster").
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "refcache/backend.hpp"
#include "refcache/redis_config.hpp"

namespace refcache {

class RedisBackend final : public Backend {
 public:
  // Throws InvalidArgument when TLS files cannot be loaded. With connect_on_start, throws
  // BackendUnavailable naming host:port when Redis cannot be reached or refuses the credentials.
  explicit RedisBackend(RedisOptions options);
  ~RedisBackend() override;

  // "redis://user:***@host:port/db" (with sentinels: "redis+sentinel://user:***@s1:p1,.../
  // primary/db"; cluster: "redis+cluster://user:***@seed1:p1,seed2:p2").
  const std::string& address() const;

  // "host:port" of the server the last connection went to (with sentinels: the primary they
  // named), or "" before the first connection. Cluster: the primaries of the slot map,
  // "host:port,host:port,..." in order.
  std::string connected_to() const;

  std::string_view kind() const override { return "redis"; }
  EntryPtr get(std::string_view ref_id) override;
  std::optional<std::string> set(std::string_view ref_id, EntryPtr entry,
                                 const KeyBinding* binding = nullptr) override;
  bool remove(std::string_view ref_id) override;
  bool exists(std::string_view ref_id) override;
  std::size_t clear(std::optional<std::string_view> ns) override;
  ListPage list(std::optional<std::string_view> ns, std::string_view cursor,
                std::size_t limit) override;
  std::optional<std::string> find_by_key(std::string_view ns, std::string_view key) override;
  std::optional<KeyBinding> binding_of(std::string_view ref_id) override;
  bool try_claim(std::string_view name, std::string_view owner,
                 std::chrono::milliseconds ttl) override;
  void release_claim(std::string_view name, std::string_view owner) override;
  std::optional<std::string> claim_holder(std::string_view name) override;
  void put_task(const TaskRecord& task) override;
  std::optional<TaskRecord> get_task(std::string_view ref_id) override;
  bool remove_task(std::string_view ref_id) override;
  Health health() override;
  BackendStats stats() const override;
  void close() override;

  // Adds every entry that has no index membership (e.g. written by a Python server) to its
  // namespace index, by one SCAN over the entry keys. Returns how many were added; with
  // `dry_run`, adds nothing and returns how many would be added. Cluster mode: 0 (every
  // entry is indexed by the write that stores it).
  std::size_t reindex(bool dry_run = false);

  // Removes the entries whose expiry time has passed from their namespace indexes (and the
  // entries themselves if Redis still holds them), appends one "expired" event for each to
  // the events stream and delivers kExpired to this object's listeners. Atomic (on a cluster
  // the events are appended right after each group's script): when several servers sweep at
  // once, each expired entry is announced once. Runs by itself every
  // RedisOptions::expiry_sweep_interval. Returns how many entries it announced.
  std::size_t sweep_expired();

  // True while the connection that reads other processes' changes from the events stream is
  // up (RedisOptions::share_events). Events appended by others from the moment it first
  // connected reach listeners, those appended while it was down once it reconnects.
  bool sharing_events() const;

  // Commands sent to Redis so far by this object's calls (a script counts as one; the
  // background expiry sweeps are not counted). For tests.
  std::uint64_t commands_sent() const;

  // Cluster mode: MOVED and ASK redirections followed, and TRYAGAIN/CLUSTERDOWN replies waited
  // out, so far (0 on a single node). For tests and diagnostics.
  std::uint64_t cluster_redirections() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace refcache
