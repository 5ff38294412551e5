// mcp::serve: runs a server on the transport a TransportConfig chooses -- stdio until EOF on
// stdin, or HTTP (Streamable HTTP on HttpOptions::path, legacy SSE beside it) until SIGINT or
// SIGTERM -- the way every server program of this SDK does. Fill the TransportConfig yourself,
// or from the command line with the SDK's transport flags (mcp/transport_flags.hpp:
// add_transport_flags on a CLI11 app, or TransportConfig::from_flags).
//
// What serve() prints (through spdlog's default logger, which it points at stderr unless the
// application set one of its own; stdout belongs to the stdio transport):
//   listening on http://HOST:PORT/PATH (legacy SSE on /sse)   once bound (scripts wait for it)
//   signal 15: stopping                                        on SIGINT/SIGTERM
//   cannot listen on http://HOST:PORT: Address already in use  when binding fails (exit code 1)
//
// Thread-safety: serve() blocks the calling thread and installs process-wide signal handlers
// for its duration (restored on return); run one per process.
#pragma once

#include <cstddef>

#include "mcp/http.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio.hpp"

namespace mcp {

struct TransportConfig {
  enum class Kind { kStdio, kHttp };
  // Which transport serve() runs. Default: stdio.
  Kind kind = Kind::kStdio;
  // The stdio transport's options (used when kind is kStdio).
  StdioOptions stdio{};
  // The HTTP transport's options (used when kind is kHttp). Default: HttpOptions's, on port
  // 8000.
  HttpOptions http{.port = 8000};

  // The SDK's transport flags (mcp/transport_flags.hpp) read from argv[0..argc) and the
  // environment; flags it does not know are left to the application, and --help is not
  // handled. Throws std::invalid_argument naming a malformed known flag (or environment
  // variable). A convenience for programs without flags of their own; programs with flags of
  // their own add the transport flags to their CLI11 app (add_transport_flags).
  static TransportConfig from_flags(int argc, char** argv);
};

// Serves `server` on `config`'s transport until EOF on stdin (stdio, after waiting for running
// calls up to StdioOptions::drain_timeout) or SIGINT/SIGTERM (HTTP). Calls
// return_large_blocks_to_os() first. Returns the process exit code: 0 after a clean end; 1 when
// the HTTP transport cannot listen (the address is in use or not the machine's) or stdio fails;
// 2 when the HTTP options contradict each other (HttpServer::start()'s std::invalid_argument,
// printed). The server stays usable; its destructor (or Server::shutdown()) stops its workers.
int serve(Server& server, const TransportConfig& config);

// Makes the process hand every allocation of `threshold` bytes or more back to the operating
// system when it is freed, and a heap's free room beyond `keep_free` bytes. Why: glibc raises
// its mmap threshold after the first large block is freed (up to 32 MiB), after which request
// bodies near the 8 MiB limit are carved from the per-thread arenas and stay resident, tens of
// megabytes per round of concurrent large bodies. The price is that every large block is
// faulted in afresh, page by page, which is dear on virtual machines: a program whose own work
// is large values (refcache-gateway) chooses a higher threshold and more room kept.
// The first call decides; serve() calls it with the defaults, so a program that chooses
// otherwise calls it before. An operator's own GLIBC_TUNABLES=glibc.malloc.mmap_threshold=N
// wins over any call. Does nothing on other C libraries.
void return_large_blocks_to_os(std::size_t threshold = std::size_t{1} << 20,
                               std::size_t keep_free = std::size_t{128} << 10);

}  // namespace mcp
