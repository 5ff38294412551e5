// mcp::StdioClientTransport: the client's side of the stdio transport. It spawns the server as
// a child process and speaks newline-delimited JSON on the child's stdin and stdout (one
// compact message per line, `\r\n` accepted). The child's stderr is logged line by line
// (spdlog, info level: servers log there freely). Every descriptor it opens is close-on-exec,
// so neither this child nor any other the program spawns inherits them.
//
// When the child exits (or closes its stdout), closed() reports "server process exited with
// status N" ("... was killed by signal 9 (SIGKILL)"), so every call waiting on it fails with
// that reason. close() shuts the child down as the MCP specification asks: it closes the
// child's stdin, waits up to `grace` for it to exit, then sends SIGTERM, waits `grace` again,
// then SIGKILL, and reaps it; no zombie and no descriptor is left behind. A line longer than
// `max_line_bytes` closes the transport ("server sent a message longer than N bytes"): memory
// stays bounded and the calls fail at once instead of waiting for answers that were lost.
//
// Thread-safety: as ClientTransport. One I/O thread reads stdout and stderr and watches the
// child (and hands each answer straight to the client, which wakes the waiting caller). send()
// never blocks on a full pipe: when no earlier message waits, it writes the message on the
// calling thread with one non-blocking write (under the transport's lock, so messages never
// interleave; a SIGPIPE it raises is held off and discarded, the program's signal disposition
// untouched), sparing the hand-off to another thread; what the pipe does not take at once
// waits in a queue that one writer thread writes as the child reads, in order.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mcp/client_transport.hpp"

namespace mcp {

struct StdioClientOptions {
  // The program to run: a path, or a name looked up in PATH. Required.
  std::string command{};
  // Its arguments (argv[1...]).
  std::vector<std::string> args{};
  // Variables set for the child, on top of this process's environment (or instead of it when
  // inherit_environment is false). Default: none.
  std::map<std::string, std::string> env{};
  // Whether the child starts from this process's environment. Default true.
  bool inherit_environment = true;
  // The child's working directory; empty (default) = this process's.
  std::string working_directory{};
  // Longest line accepted from the child's stdout, in bytes. Default 64 MiB (the SDK
  // server's own limit).
  std::size_t max_line_bytes = 64u << 20;
  // Longest stderr line logged as one; longer lines are cut (the rest is logged as further
  // lines). Default 4 KiB.
  std::size_t max_stderr_line_bytes = 4096;
  // Messages waiting to be written to the child, in bytes; send() beyond it throws ClientError
  // (kBusy). Default 64 MiB.
  std::size_t max_queued_bytes = 64u << 20;
  // close(): how long the child gets to exit after its stdin closes, and again after SIGTERM.
  // Default 2 s.
  std::chrono::milliseconds grace{2000};
  // Name in log lines (the stderr lines are logged as "[NAME] line"); empty (default) = the
  // command's file name.
  std::string log_name{};
};

class StdioClientTransport : public ClientTransport {
 public:
  explicit StdioClientTransport(StdioClientOptions options);
  ~StdioClientTransport() override;  // close()
  StdioClientTransport(const StdioClientTransport&) = delete;
  StdioClientTransport& operator=(const StdioClientTransport&) = delete;

  void start(ClientTransportCallbacks callbacks) override;
  void send(OutgoingMessage message) override;
  void close() override;
  TransportKind kind() const override { return TransportKind::kStdio; }
  bool restartable() const override { return true; }
  std::string describe() const override;

  // The child's process id while it runs; -1 before start() and once it has been reaped.
  int pid() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcp
