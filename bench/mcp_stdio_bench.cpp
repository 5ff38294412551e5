// M1: pipelined tools/call of an echo tool over stdio, through one connection.
// The driver spawns itself with --serve (a minimal mcp::Server with one typed echo tool on
// serve_stdio), writes initialize + N tools/call lines as fast as the pipe takes them from one
// thread and reads the answers on another. Prints one JSON line.
//   mcp_stdio_bench [--calls N]
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "mcp/server.hpp"
#include "mcp/stdio.hpp"

namespace {

struct EchoArgs {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(EchoArgs, (), (text))

int serve() {
  mcp::Server server({.info = {.name = "bench", .version = "1"}});
  server.tool<EchoArgs>({.name = "echo", .description = "Echo"},
                        [](const EchoArgs& a, mcp::ToolContext&) { return a.text; });
  return mcp::serve_stdio(server);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--serve") == 0) return serve();
  long calls = 200000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--calls") == 0) calls = std::atol(argv[i + 1]);

  int to_child[2], from_child[2];
  if (pipe(to_child) || pipe(from_child)) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    close(to_child[1]);
    close(from_child[0]);
    execl("/proc/self/exe", argv[0], "--serve", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  fcntl(to_child[1], F_SETPIPE_SZ, 1 << 20);
  fcntl(from_child[0], F_SETPIPE_SZ, 1 << 20);

  std::string init =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}})"
      "\n"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      "\n";
  std::string body;
  body.reserve(static_cast<std::size_t>(calls) * 110);
  for (long i = 1; i <= calls; ++i)
    body +=
        R"({"jsonrpc":"2.0","id":)" + std::to_string(i) +
        R"(,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world"}}})" +
        "\n";

  auto write_all = [&](const std::string& s) {
    for (std::size_t off = 0; off < s.size();) {
      ssize_t n = write(to_child[1], s.data() + off, s.size() - off);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  };
  write_all(init);
  // Wait for the initialize answer before timing.
  std::string buf;
  char chunk[1 << 16];
  std::size_t lines = 0, scanned = 0;
  auto read_lines = [&](std::size_t want) {
    while (lines < want) {
      ssize_t n = read(from_child[0], chunk, sizeof chunk);
      if (n <= 0) return false;
      for (ssize_t i = 0; i < n; ++i)
        if (chunk[i] == '\n') ++lines;
      scanned += static_cast<std::size_t>(n);
      if (lines == 1 && buf.empty())
        buf.assign(chunk, static_cast<std::size_t>(n));  // keep the first answer
    }
    return true;
  };
  read_lines(1);
  auto t0 = std::chrono::steady_clock::now();
  std::thread writer([&] { write_all(body); });
  bool ok = read_lines(static_cast<std::size_t>(calls) + 1);
  auto t1 = std::chrono::steady_clock::now();
  writer.join();
  close(to_child[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  double secs = std::chrono::duration<double>(t1 - t0).count();
  std::printf(
      "{\"bench\":\"M1_stdio_pipelined_echo\",\"ok\":%s,\"calls\":%ld,\"seconds\":%.3f,\"calls_per_"
      "s\":%.0f,"
      "\"bytes_out\":%zu,\"target_calls_per_s\":100000}\n",
      ok ? "true" : "false", calls, secs, static_cast<double>(calls) / secs, scanned);
  return ok ? 0 : 1;
}
