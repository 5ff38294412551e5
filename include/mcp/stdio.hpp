// stdio transport: newline-delimited JSON-RPC on stdin/stdout (one compact message per line).
// stdout carries protocol messages only; the transport routes spdlog's default logger to
// stderr before serving. Requests are pipelined: each is handled on the server's worker pool
// and answered as soon as it finishes (possibly out of order).
//
// Thread-safety: serve_stdio blocks the calling thread; run at most one per process.
#pragma once

#include <chrono>
#include <cstddef>

#include "mcp/server.hpp"

namespace mcp {

struct StdioOptions {
  int in_fd = 0;                                  // read messages from
  int out_fd = 1;                                 // write messages to
  std::size_t max_message_bytes = 64u << 20;      // longer lines get -32700 and are skipped
  std::size_t max_json_depth = 64;                // deeper JSON gets -32700
  std::chrono::milliseconds drain_timeout{5000};  // on EOF, wait this long for running calls
  bool log_to_stderr = true;                      // install a stderr spdlog default logger
};

// Serves `server` until EOF on `in_fd` (then waits for running calls up to drain_timeout and
// returns 0). Returns non-zero on an I/O error.
int serve_stdio(Server& server, const StdioOptions& options = {});

}  // namespace mcp
