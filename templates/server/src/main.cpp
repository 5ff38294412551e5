// @NAME@: serves its tools over stdio (default) or Streamable HTTP; `@NAME@ --help` lists
// every flag (backend, transport, sizes, authentication, quotas).
#include "refcache_mcp/server_cli.hpp"
#include "tools.hpp"

int main(int argc, char** argv) {
  return refcache::mcp::run_server(
      argc, argv,
      {.program = "@NAME@",
       .description = "@NAME@: an MCP server with cached results",
       .cache_name = "@NAME_ID@",
       .default_port = 8000,
       .version = "0.1.0"},
      [](mcp::Server& server, refcache::RefCache& cache, const refcache::mcp::ServerConfig&) {
        register_tools(server, cache);
      });
}
