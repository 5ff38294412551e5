// M3: start-up time (spawn -> tools/list answer over stdio) and idle resident memory.
// Spawns itself with --serve (an mcp::Server with 20 typed tools on serve_stdio), writes
// initialize, notifications/initialized and tools/list at once, and times until the tools/list
// answer arrives. Repeats, then reads VmRSS of an idle server. Prints one JSON line.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "mcp/server.hpp"
#include "mcp/stdio.hpp"

namespace {

struct Args {
  std::string text;
  int count = 1;
  std::optional<bool> loud;
};
BOOST_DESCRIBE_STRUCT(Args, (), (text, count, loud))

int serve() {
  mcp::Server server({.info = {.name = "bench", .version = "1"}, .worker_threads = 2});
  for (int i = 0; i < 20; ++i)
    server.tool<Args>({.name = "tool_" + std::to_string(i), .description = "A tool"},
                      [](const Args& a, mcp::ToolContext&) { return a.text; });
  return mcp::serve_stdio(server);
}

struct Child {
  pid_t pid;
  int in, out;
};

Child spawn(const char* self) {
  int to_child[2], from_child[2];
  if (pipe(to_child) || pipe(from_child)) std::exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    close(to_child[1]);
    close(from_child[0]);
    execl("/proc/self/exe", self, "--serve", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  return {pid, to_child[1], from_child[0]};
}

// Reads until `n` lines arrived.
bool read_lines(int fd, int n) {
  char buf[1 << 16];
  int lines = 0;
  while (lines < n) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) return false;
    lines += static_cast<int>(std::count(buf, buf + r, '\n'));
  }
  return true;
}

long rss_kb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--serve") == 0) return serve();
  const std::string msgs =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}})"
      "\n"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      "\n"
      R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})"
      "\n";
  std::vector<double> ms;
  long rss = -1;
  bool ok = true;
  for (int i = 0; i < 30; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    Child c = spawn(argv[0]);
    ok &= write(c.in, msgs.data(), msgs.size()) == static_cast<ssize_t>(msgs.size());
    ok &= read_lines(c.out, 2);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (i == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // idle
      rss = rss_kb(c.pid);
    }
    close(c.in);
    close(c.out);
    int st = 0;
    waitpid(c.pid, &st, 0);
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "{\"bench\":\"M3_startup_stdio\",\"ok\":%s,\"runs\":%zu,\"spawn_to_tools_list_ms_p50\":%.2f,"
      "\"spawn_to_tools_list_ms_p90\":%.2f,\"spawn_to_tools_list_ms_min\":%.2f,\"idle_rss_mb\":%."
      "1f,"
      "\"target_ms\":10,\"target_rss_mb\":15}\n",
      ok ? "true" : "false", ms.size(), ms[ms.size() / 2], ms[ms.size() * 9 / 10], ms[0],
      rss / 1024.0);
  return ok ? 0 : 1;
}
