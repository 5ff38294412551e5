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
//   --no-legacy-sse          do not serve GET /sse + POST /messages
// Flags win over the environment, which wins over the defaults. Unknown flags are left to the
// application.
//
// Thread-safety: serve() blocks the calling thread; run one per process.
#pragma once

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
// stderr once bound). Returns the process exit code.
int serve(Server& server, const TransportConfig& config);

}  // namespace mcp
