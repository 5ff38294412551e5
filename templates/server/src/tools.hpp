// The tools of @NAME@.
#pragma once

#include "mcp/server.hpp"
#include "refcache/ref_cache.hpp"

// Registers every tool of @NAME@ on `server`, caching their results in `cache`.
void register_tools(mcp::Server& server, refcache::RefCache& cache);
