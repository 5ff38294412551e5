// The backend's counters as JSON, under the names get_cache_stats and the dashboard both report
// (one list, so that the two cannot drift apart). Internal to src/refcache_mcp. Pure.
#pragma once

#include <boost/json/object.hpp>

#include "refcache/backend.hpp"

namespace refcache::mcp {

inline boost::json::object backend_counters(const BackendStats& st) {
  return boost::json::object{
      {"entries", st.entries}, {"bytes", st.bytes},          {"gets", st.gets},
      {"hits", st.hits},       {"misses", st.misses},        {"sets", st.sets},
      {"deletes", st.deletes}, {"evictions", st.evictions},  {"expirations", st.expirations},
      {"errors", st.errors},   {"reconnects", st.reconnects}};
}

}  // namespace refcache::mcp
