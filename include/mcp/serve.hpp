// Choosing and running a transport from command-line flags and the environment, so that every
// server program offers the same switches:
//
//   --transport stdio|http   (or --stdio / --http; env MCP_TRANSPORT; default stdio)
//   --host H                 (env MCP_HOST; default 127.0.0.1)
//   --port P                 (env MCP_PORT; default 8000; giving a port alone does not
//                            switch to HTTP)
//   --path /mcp              Streamable HTTP endpoint
//   --allow-host H           extra Host name accepted by DNS-rebinding protection (repeatable)
//   --allow-origin O         extra Origin accepted (repeatable)
//   --allow-any-host         accept any Host and Origin (HttpOptions::allow_any_host:
//                            DNS-rebinding protection off; a warning at start)
//   --no-legacy-sse          do not serve GET /sse + POST /messages
// Flags win over the environment, which wins over the defaults. Unknown flags are left to the
// application.
//
// Thread-safety: serve() blocks the calling thread; run one per process.
#pragma once

#include <cstddef>
#include <string>

#include "mcp/http.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio.hpp"

namespace mcp {

struct TransportConfig {
  enum class Kind { kStdio, kHttp };
  Kind kind = Kind::kStdio;
  StdioOptions stdio;
  HttpOptions http{.port = 8000};

  // REQUIRES: argv[0..argc) valid. Throws std::invalid_argument on a malformed known flag.
  static TransportConfig from_flags(int argc, char** argv);
};

// Serves until EOF on stdin (stdio) or SIGINT/SIGTERM (HTTP; prints "listening on URL" to
// stderr once bound). Points spdlog's default logger at stderr unless the application set one
// of its own. Returns the process exit code: 1 when it cannot listen, 2 when the options
// contradict each other (std::invalid_argument from HttpServer::start(), printed).
int serve(Server& server, const TransportConfig& config);

// Makes the process hand every allocation of `threshold` bytes or more back to the operating
// system when it is freed. Why: glibc raises its mmap threshold after the first large block is
// freed (up to 32 MiB), after which request bodies near the 8 MiB limit are carved from the
// per-thread arenas and stay resident; rounds of concurrent large bodies then left 70-150 MB
// behind. A fixed threshold also fixes the trim threshold (128 KiB), so the heap tops shrink
// too. Blocks this large cost an mmap and their page faults, which is small beside filling
// them. serve() and the refcache servers call it at start; an operator's own
// GLIBC_TUNABLES=glibc.malloc.mmap_threshold=N wins. Does nothing on other C libraries.
void return_large_blocks_to_os(std::size_t threshold = std::size_t{1} << 20);

}  // namespace mcp
