// M4: mcp::Client beside the official TypeScript client (@modelcontextprotocol/sdk's Client),
// both calling tools/call of one echo tool on the same server of ours, over stdio and over
// Streamable HTTP, in the same run. The driver spawns itself as the server: --serve-stdio (a
// minimal mcp::Server on serve_stdio; each client spawns its own) and --serve-http (the same
// server on an mcp::HttpServer at a free loopback port, shared by both clients, stopped when
// its stdin closes). Per client and transport: sequential calls (one in flight, so calls/s are
// round trips per second) with p50/p99 latency, then `--concurrency` callers sharing one client.
// mcp::Client runs in the 2025-11-25 era, the one the TypeScript client speaks (the same
// messages on the wire), and again in 2026-07-28 ("cpp_modern"). The ratio is mcp::Client's
// sequential calls/s over the TypeScript client's (the goal: >= 5). "floor" is the same
// sequential calls from a bare blocking client (pre-written messages, one thread, a kept-alive
// connection over HTTP): the server's and the kernel's share of a round trip, which no client
// goes below; floor_ratio (floor over the TypeScript client) bounds the ratio any client could
// reach on this machine. Prints one JSON line.
//   mcp_client_bench [--calls N] [--concurrency C] [--concurrent-calls N] [--node PATH]
//                    [--script PATH] [--only stdio|http]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mcp/client.hpp"
#include "mcp/client_http.hpp"
#include "mcp/client_stdio.hpp"
#include "mcp/http.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio.hpp"

extern char** environ;

#ifndef MCP_BENCH_NODE
#define MCP_BENCH_NODE "node"
#endif
#ifndef MCP_BENCH_TS_SCRIPT
#define MCP_BENCH_TS_SCRIPT "bench/mcp_client_bench_ts.mjs"
#endif

namespace {

struct EchoArgs {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(EchoArgs, (), (text))

void add_echo(mcp::Server& server) {
  server.tool<EchoArgs>({.name = "echo", .description = "Echo"},
                        [](const EchoArgs& a, mcp::ToolContext&) { return a.text; });
}

int serve_stdio() {
  mcp::Server server({.info = {.name = "bench", .version = "1"}});
  add_echo(server);
  return mcp::serve_stdio(server);
}

// Prints the bound port on stdout, serves until stdin closes.
int serve_http() {
  mcp::Server server({.info = {.name = "bench", .version = "1"}});
  add_echo(server);
  mcp::HttpServer http(server, {.port = 0, .legacy_sse = false});
  http.start();
  if (std::printf("%u\n", static_cast<unsigned>(http.port())) < 0 || std::fflush(stdout) != 0)
    return 1;
  char buf[256];
  while (read(0, buf, sizeof buf) > 0) {
  }
  http.stop();
  return 0;
}

struct Figures {
  bool ok = false;
  double calls_per_s = 0, p50_ms = 0, p99_ms = 0, concurrent_calls_per_s = 0;
};

struct Config {
  long calls = 2000;
  long warmup = 200;
  int concurrency = 8;
  long concurrent_calls = 4000;
  std::string self, node = MCP_BENCH_NODE, script = MCP_BENCH_TS_SCRIPT;
};

Figures run_cpp(const Config& cfg, const std::function<std::unique_ptr<mcp::ClientTransport>()>& t,
                mcp::VersionNegotiation versions) {
  Figures f;
  try {
    mcp::Client client({.info = {.name = "bench-cpp", .version = "1"}, .versions = versions});
    client.connect(t());
    const mcp::json args = boost::json::object{{"text", "hello world"}};
    auto call = [&] {
      const mcp::CallToolResult r = client.call_tool("echo", args);
      if (r.is_error || r.content.empty() ||
          r.content[0].as_object().at("text").as_string() != "hello world")
        throw std::runtime_error("wrong answer");
    };
    for (long i = 0; i < cfg.warmup; ++i) call();
    std::vector<double> lat(static_cast<std::size_t>(cfg.calls));
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& l : lat) {
      const auto s = std::chrono::steady_clock::now();
      call();
      l = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count();
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double p) {
      const auto at = static_cast<std::size_t>(p * static_cast<double>(lat.size()));
      return lat[std::min(lat.size() - 1, at)];
    };
    f.calls_per_s = static_cast<double>(cfg.calls) / secs;
    f.p50_ms = pct(0.5);
    f.p99_ms = pct(0.99);

    std::atomic<long> next{0};
    std::atomic<bool> failed{false};
    const auto c0 = std::chrono::steady_clock::now();
    std::vector<std::thread> callers;
    callers.reserve(static_cast<std::size_t>(cfg.concurrency));
    for (int i = 0; i < cfg.concurrency; ++i)
      callers.emplace_back([&] {
        try {
          while (next.fetch_add(1) < cfg.concurrent_calls) call();
        } catch (const std::exception&) {
          failed = true;
        }
      });
    for (auto& c : callers) c.join();
    const double csecs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
    f.concurrent_calls_per_s = static_cast<double>(cfg.concurrent_calls) / csecs;
    f.ok = !failed;
    client.close();
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "mcp::Client: %s\n", e.what());
    f.ok = false;
  }
  return f;
}

// Runs the TypeScript client's script with `args` (its stderr to /dev/null); reads its one JSON
// line.
Figures run_ts(const Config& cfg, std::vector<std::string> args) {
  Figures f;
  std::vector<std::string> argv = {cfg.node,
                                   "--no-warnings",
                                   cfg.script,
                                   "--calls",
                                   std::to_string(cfg.calls),
                                   "--warmup",
                                   std::to_string(cfg.warmup),
                                   "--concurrency",
                                   std::to_string(cfg.concurrency),
                                   "--concurrent-calls",
                                   std::to_string(cfg.concurrent_calls)};
  for (auto& a : args) argv.push_back(std::move(a));
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return f;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n = 0; spawned == 0 && (n = read(out_pipe[0], buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  close(out_pipe[0]);
  int status = -1;
  if (spawned == 0) waitpid(pid, &status, 0);
  const int rc = spawned != 0 ? spawned : status;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(out, ec);
  if (rc != 0 || ec || !v.is_object()) {
    (void)std::fprintf(stderr, "TypeScript client failed (%d): %s\n", rc, out.c_str());
    return f;
  }
  const auto& o = v.as_object();
  f.calls_per_s = o.at("calls_per_s").to_number<double>();
  f.p50_ms = o.at("p50_ms").to_number<double>();
  f.p99_ms = o.at("p99_ms").to_number<double>();
  f.concurrent_calls_per_s = o.at("concurrent_calls_per_s").to_number<double>();
  f.ok = true;
  return f;
}

// The floor: the cheapest client there is, one thread with blocking reads and writes of
// pre-written messages, no JSON parsing beyond finding the echoed text. What it measures is
// the server's round trip (and the kernel's): no client can be faster than this, so
// floor / ts bounds the ratio any client could reach on this machine and load.
struct Floor {
  int wfd = -1, rfd = -1;
  std::string pending{};  // bytes read past the last answer

  bool write_all(std::string_view s) const {
    while (!s.empty()) {
      const ssize_t n = write(wfd, s.data(), s.size());
      if (n <= 0) return false;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads until `pending` holds `n` bytes (n = 0: until it holds a newline); false on EOF.
  bool fill(std::size_t n) {
    char buf[4096];
    while (n ? pending.size() < n : pending.find('\n') == std::string::npos) {
      const ssize_t k = read(rfd, buf, sizeof buf);
      if (k <= 0) return false;
      pending.append(buf, static_cast<std::size_t>(k));
    }
    return true;
  }
  bool read_line(std::string& line) {
    if (!fill(0)) return false;
    const auto nl = pending.find('\n');
    line = pending.substr(0, nl);
    pending.erase(0, nl + 1);
    return true;
  }
  // One HTTP/1.1 answer with Content-Length (what the server sends for JSON): its head and body.
  bool read_http(std::string& head, std::string& body) {
    std::size_t end = 0;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos)
      if (!fill(pending.size() + 1)) return false;
    head = pending.substr(0, end + 4);
    const auto cl = head.find("Content-Length: ");
    if (cl == std::string::npos) return false;
    const std::size_t len = std::strtoul(head.c_str() + cl + 16, nullptr, 10);
    if (!fill(end + 4 + len)) return false;
    body = pending.substr(end + 4, len);
    pending.erase(0, end + 4 + len);
    return true;
  }
};

const char* const kInitialize =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
    R"("capabilities":{},"clientInfo":{"name":"bench-floor","version":"1"}}})";
const char* const kInitialized = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";

std::string call_text(long id) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world"}}})";
}

// Times `cfg.calls` sequential calls of `one` (after the warm-up) into calls/s, p50 and p99.
Figures time_calls(const Config& cfg, const std::function<bool(long)>& one) {
  Figures f;
  for (long i = 0; i < cfg.warmup; ++i)
    if (!one(i + 1)) return f;
  std::vector<double> lat(static_cast<std::size_t>(cfg.calls));
  const auto t0 = std::chrono::steady_clock::now();
  long id = cfg.warmup + 1;
  for (auto& l : lat) {
    const auto s = std::chrono::steady_clock::now();
    if (!one(id++)) return f;
    l = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count();
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat[std::min(lat.size() - 1,
                        static_cast<std::size_t>(p * static_cast<double>(lat.size())))];
  };
  f.calls_per_s = static_cast<double>(cfg.calls) / secs;
  f.p50_ms = pct(0.5);
  f.p99_ms = pct(0.99);
  f.ok = true;
  return f;
}

Figures floor_stdio(const Config& cfg) {
  int in[2];
  int out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::string self = cfg.self;
  std::string flag = "--serve-stdio";
  char* argv[] = {self.data(), flag.data(), nullptr};
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, argv[0], &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  Figures f;
  Floor fl{.wfd = in[1], .rfd = out[0], .pending = {}};
  std::string line;
  if (spawned == 0 && fl.write_all(std::string(kInitialize) + "\n") && fl.read_line(line) &&
      fl.write_all(std::string(kInitialized) + "\n"))
    f = time_calls(cfg, [&](long id) {
      return fl.write_all(call_text(id) + "\n") && fl.read_line(line) &&
             line.find("hello world") != std::string::npos;
    });
  close(in[1]);
  close(out[0]);
  if (spawned == 0) waitpid(pid, nullptr, 0);
  return f;
}

Figures floor_http(const Config& cfg, unsigned port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {};
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  Figures f;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return f;
  }
  Floor fl{.wfd = fd, .rfd = fd, .pending = {}};
  std::string session;
  auto post = [&](const std::string& body, std::string& head, std::string& answer) {
    std::string req = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                      "\r\nContent-Type: application/json\r\nAccept: application/json, "
                      "text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\n";
    if (!session.empty()) req += "Mcp-Session-Id: " + session + "\r\n";
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return fl.write_all(req) && fl.read_http(head, answer);
  };
  std::string head;
  std::string body;
  if (post(kInitialize, head, body)) {
    const auto at = head.find("Mcp-Session-Id: ");
    if (at != std::string::npos) session = head.substr(at + 16, head.find("\r\n", at) - at - 16);
    if (post(kInitialized, head, body))
      f = time_calls(cfg, [&](long id) {
        return post(call_text(id), head, body) && body.find("hello world") != std::string::npos;
      });
  }
  close(fd);
  return f;
}

std::string to_json(const Figures& f) {
  char buf[256];
  (void)std::snprintf(buf, sizeof buf,
                      "{\"ok\":%s,\"calls_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
                      "\"concurrent_calls_per_s\":%.0f}",
                      f.ok ? "true" : "false", f.calls_per_s, f.p50_ms, f.p99_ms,
                      f.concurrent_calls_per_s);
  return buf;
}

std::string section(const Figures& cpp, const Figures& modern, const Figures& ts,
                    const Figures& floor) {
  char ratio[160];
  (void)std::snprintf(ratio, sizeof ratio,
                      "\"ratio_calls_per_s\":%.2f,\"floor\":{\"ok\":%s,\"calls_per_s\":%.0f,"
                      "\"p50_ms\":%.3f,\"p99_ms\":%.3f},\"floor_ratio\":%.2f",
                      ts.calls_per_s > 0 ? cpp.calls_per_s / ts.calls_per_s : 0.0,
                      floor.ok ? "true" : "false", floor.calls_per_s, floor.p50_ms, floor.p99_ms,
                      ts.calls_per_s > 0 ? floor.calls_per_s / ts.calls_per_s : 0.0);
  return "{\"cpp\":" + to_json(cpp) + ",\"cpp_modern\":" + to_json(modern) +
         ",\"ts\":" + to_json(ts) + "," + ratio + "}";
}

// The HTTP server child: its pid, the pipe to its stdin, its port.
struct HttpChild {
  pid_t pid = -1;
  int stdin_fd = -1;
  unsigned port = 0;
};

HttpChild spawn_http(const std::string& self) {
  HttpChild c;
  int in[2];
  int out[2];
  if (pipe(in) != 0 || pipe(out) != 0) return c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    close(in[1]);
    close(out[0]);
    execl(self.c_str(), self.c_str(), "--serve-http", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  c.stdin_fd = in[1];
  std::string line;
  char ch = 0;
  while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
  close(out[0]);
  c.port = line.empty() ? 0 : static_cast<unsigned>(std::stoul(line));
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--serve-stdio") == 0) return serve_stdio();
  if (argc > 1 && std::strcmp(argv[1], "--serve-http") == 0) return serve_http();
  Config cfg;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--calls") cfg.calls = std::strtol(v, nullptr, 10);
    if (k == "--concurrency") cfg.concurrency = static_cast<int>(std::strtol(v, nullptr, 10));
    if (k == "--concurrent-calls") cfg.concurrent_calls = std::strtol(v, nullptr, 10);
    if (k == "--node") cfg.node = v;
    if (k == "--script") cfg.script = v;
    if (k == "--only") only = v;
  }
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 1;
  cfg.self.assign(self, static_cast<std::size_t>(n));

  std::string stdio_json = "null";
  std::string http_json = "null";
  bool ok = true;
  if (only.empty() || only == "stdio") {
    auto t = [&] {
      return std::make_unique<mcp::StdioClientTransport>(
          mcp::StdioClientOptions{.command = cfg.self, .args = {"--serve-stdio"}});
    };
    const Figures cpp = run_cpp(cfg, t, mcp::VersionNegotiation::kLegacy);
    const Figures modern = run_cpp(cfg, t, mcp::VersionNegotiation::kModern);
    const Figures ts =
        run_ts(cfg, {"--transport", "stdio", "--command", cfg.self, "--arg", "--serve-stdio"});
    const Figures floor = floor_stdio(cfg);
    ok = ok && cpp.ok && modern.ok && ts.ok && floor.ok;
    stdio_json = section(cpp, modern, ts, floor);
  }
  if (only.empty() || only == "http") {
    const HttpChild child = spawn_http(cfg.self);
    if (child.port == 0) {
      (void)std::fprintf(stderr, "the HTTP server did not start\n");
      ok = false;
    } else {
      const std::string url = "http://127.0.0.1:" + std::to_string(child.port) + "/mcp";
      auto t = [&] {
        return std::make_unique<mcp::StreamableHttpClientTransport>(
            mcp::StreamableHttpClientOptions{.url = url, .standalone_stream = false});
      };
      const Figures cpp = run_cpp(cfg, t, mcp::VersionNegotiation::kLegacy);
      const Figures modern = run_cpp(cfg, t, mcp::VersionNegotiation::kModern);
      const Figures ts = run_ts(cfg, {"--transport", "http", "--url", url});
      const Figures floor = floor_http(cfg, child.port);
      ok = ok && cpp.ok && modern.ok && ts.ok && floor.ok;
      http_json = section(cpp, modern, ts, floor);
    }
    if (child.stdin_fd >= 0) close(child.stdin_fd);
    if (child.pid > 0) waitpid(child.pid, nullptr, 0);
  }
  std::printf(
      "{\"bench\":\"M4_client_tools_call\",\"ok\":%s,\"calls\":%ld,\"concurrency\":%d,"
      "\"concurrent_calls\":%ld,\"stdio\":%s,\"http\":%s,\"target_ratio\":5}\n",
      ok ? "true" : "false", cfg.calls, cfg.concurrency, cfg.concurrent_calls, stdio_json.c_str(),
      http_json.c_str());
  return ok ? 0 : 1;
}
