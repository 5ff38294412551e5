// The key layout of RedisBackend (private; docs/backends.md, "Keys" and "Redis Cluster").
// On one node every key starts with the key prefix P ("mcp-refcache:"); the entry key and
// its blob are those of mcp-refcache 0.2.1, so Python servers share the entries. In cluster
// mode the keys of one ref (its entry, the namespace index shards it is listed in, its
// binding set, its task record) carry the hash tag of the ref's group, "<P>{g<n>}:" with
// n = CRC16(ref id) mod cluster_groups, so that a script touching them stays in one hash
// slot; key bindings and claims are found by name alone and keep slots of their own.
//
// Thread-safety: immutable once constructed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "refcache/backends/redis_cluster.hpp"

namespace refcache::redis_detail {

class RedisKeys {
 public:
  // `groups`: the number of ref groups in cluster mode; 0 on a single node.
  RedisKeys(std::string prefix, int groups) : prefix_(std::move(prefix)) {
    for (int g = 0; g < groups; ++g) groups_.push_back(prefix_ + "{g" + std::to_string(g) + "}:");
  }

  bool cluster() const { return !groups_.empty(); }
  // P, the key prefix.
  const std::string& prefix() const { return prefix_; }
  // Cluster: the prefix of every ref group, "<P>{g<n>}:" for n = 0 .. groups-1.
  const std::vector<std::string>& groups() const { return groups_; }

  // The prefix of a ref's keys: P, or in cluster mode the prefix of the ref's group.
  const std::string& pfx(std::string_view ref) const {
    if (groups_.empty()) return prefix_;
    return groups_[crc16(ref) % groups_.size()];
  }
  std::string entry_key(std::string_view ref) const {
    return pfx(ref) + "entry:" + std::string(ref);
  }
  // The namespace's index under prefix `p` (P, or a group's prefix): its ref ids scored by
  // expiry in ms ("+inf" for none).
  std::string idx_key(std::string_view ns, const std::string& p) const {
    return p + "idx:" + std::string(ns);
  }
  // The set of namespaces that have an index under prefix `p`.
  std::string namespaces_key(const std::string& p) const { return p + "namespaces"; }
  // The ref id bound to (ns, key); the namespace's length keeps (ns, key) pairs apart.
  std::string binding_key(std::string_view ns, std::string_view key) const {
    return prefix_ + "bind:" + std::to_string(ns.size()) + ":" + std::string(ns) + ":" +
           std::string(key);
  }
  // The binding keys that point at the ref.
  std::string refbind_key(std::string_view ref) const {
    return pfx(ref) + "refbind:" + std::string(ref);
  }
  std::string claim_key(std::string_view name) const {
    return prefix_ + "claim:" + std::string(name);
  }
  std::string task_key(std::string_view ref) const { return pfx(ref) + "task:" + std::string(ref); }
  // Cluster: "groups=<n>", recorded by the first server (every server must group alike).
  std::string layout_key() const { return prefix_ + "cluster-layout"; }
  // The stream of change events: "<prefix>events" on a single node; on a cluster one key of
  // its own slot (the hash tag "{refcache-events}"), written after the scripts.
  std::string events_stream() const {
    return cluster() ? "{refcache-events}:" + prefix_ : prefix_ + "events";
  }

 private:
  std::string prefix_;
  std::vector<std::string> groups_;
};

}  // namespace refcache::redis_detail
