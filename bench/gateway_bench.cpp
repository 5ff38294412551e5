// G1: what refcache-gateway costs. The driver spawns itself as the upstream (--serve-stdio, or
// --serve-http on a free loopback port: an mcp::Server with an `echo` tool and a `blob` tool
// answering a JSON text of a given size) and measures, in the same run, with mcp::Client:
//   - added latency of a small pass-through call (echo): p50/p99 of sequential calls made
//     directly to the upstream and through the gateway, over stdio (the gateway spawned on
//     stdio, fronting a stdio upstream) and over Streamable HTTP (the gateway served over HTTP,
//     fronting the HTTP upstream); `added_p50_us` is the difference of the p50s (goal: < 150);
//   - interception: a 1 MB and a 10 MB JSON result, called directly and through a stdio gateway
//     storing it on SQLite (a temporary file) and on Redis (redis-server started on a free
//     port, or --redis URL); `store_ms` is the median extra time of the gateway's call over the
//     direct one (goal: < 15 for 1 MB on SQLite);
//   - a result far beyond the threshold (--large-mb, default 100; 0 skips it): one call through
//     a fresh stdio gateway on SQLite, its time and the gateway's peak resident memory (VmHWM)
//     beside what it held before the call.
// Prints one JSON line.
//   gateway_bench [--calls N] [--reps N] [--gateway PATH] [--redis URL] [--large-mb N]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
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

#ifndef REFCACHE_BENCH_GATEWAY
#define REFCACHE_BENCH_GATEWAY "refcache-gateway"
#endif

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct EchoArgs {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(EchoArgs, (), (text))
struct BlobArgs {
  std::int64_t bytes = 0;
};
BOOST_DESCRIBE_STRUCT(BlobArgs, (), (bytes))

// A JSON array of rows, about `bytes` long.
std::string make_blob(std::int64_t bytes) {
  std::string s = "[";
  for (std::int64_t i = 0; std::cmp_less(s.size(), bytes); ++i) {
    if (i > 0) s += ',';
    s += R"({"id":)" + std::to_string(i) + R"(,"name":"row-)" + std::to_string(i) +
         R"(","value":)" + std::to_string((i * 7919) % 1000) + "}";
  }
  return s + "]";
}

void add_tools(mcp::Server& server) {
  server.tool<EchoArgs>({.name = "echo", .description = "Echo"},
                        [](const EchoArgs& a, mcp::ToolContext&) { return a.text; });
  server.tool<BlobArgs>({.name = "blob", .description = "A JSON text of about `bytes` bytes"},
                        [](const BlobArgs& a, mcp::ToolContext&) { return make_blob(a.bytes); });
}

int serve_stdio() {
  mcp::Server server({.info = {.name = "bench-upstream", .version = "1"}});
  add_tools(server);
  return mcp::serve_stdio(server);
}

// Prints the bound port on stdout, serves until stdin closes.
int serve_http() {
  mcp::Server server({.info = {.name = "bench-upstream", .version = "1"}});
  add_tools(server);
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

// A child process with a pipe to its stdin and one from `from_fd` (1 or 2).
struct Child {
  pid_t pid = -1;
  int stdin_fd = -1;
  int out_fd = -1;
};

Child spawn_child(std::vector<std::string> argv, int from_fd) {
  Child c;
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  int in_pipe[2];
  int out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return c;
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return c;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], from_fd);
  posix_spawn_file_actions_addopen(&fa, from_fd == 1 ? 2 : 1, "/dev/null", O_WRONLY, 0);
  if (posix_spawn(&c.pid, cargv[0], &fa, nullptr, cargv.data(), environ) != 0) c.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  close(in_pipe[0]);
  close(out_pipe[1]);
  c.stdin_fd = in_pipe[1];
  c.out_fd = out_pipe[0];
  return c;
}

// Reads the child's output until `match` returns a non-empty string (or the output ends).
std::string read_until(int fd, const std::function<std::string(const std::string&)>& match) {
  std::string out;
  char buf[1024];
  for (ssize_t n = 0; (n = read(fd, buf, sizeof buf)) > 0;) {
    out.append(buf, static_cast<std::size_t>(n));
    if (std::string m = match(out); !m.empty()) return m;
  }
  return {};
}

void stop_child(Child& c) {
  if (c.stdin_fd >= 0) close(c.stdin_fd);
  if (c.pid > 0) {
    kill(c.pid, SIGTERM);
    waitpid(c.pid, nullptr, 0);
  }
  if (c.out_fd >= 0) close(c.out_fd);
  c = Child{};
}

std::uint16_t free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(s);
  return port;
}

struct Latency {
  double p50_us = 0, p99_us = 0;
};

Latency echo_latency(mcp::Client& client, long calls) {
  const mcp::json args = boost::json::object{{"text", "hello world"}};
  auto call = [&] {
    const mcp::CallToolResult r = client.call_tool("echo", args);
    if (r.is_error || r.content.empty()) throw std::runtime_error("echo: wrong answer");
  };
  for (long i = 0; i < calls / 10; ++i) call();
  std::vector<double> lat(static_cast<std::size_t>(calls));
  for (auto& l : lat) {
    const auto s = Clock::now();
    call();
    l = std::chrono::duration<double, std::micro>(Clock::now() - s).count();
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat[std::min(lat.size() - 1,
                        static_cast<std::size_t>(p * static_cast<double>(lat.size())))];
  };
  return {pct(0.5), pct(0.99)};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Median milliseconds of a blob call of `bytes`; `want_ref`: the answer must be a ref.
double blob_ms(mcp::Client& client, std::int64_t bytes, int reps, bool want_ref) {
  const mcp::json args = boost::json::object{{"bytes", bytes}};
  std::vector<double> ms;
  for (int i = 0; i < reps + 1; ++i) {
    const auto s = Clock::now();
    const mcp::CallToolResult r = client.call_tool("blob", args);
    const double t = std::chrono::duration<double, std::milli>(Clock::now() - s).count();
    const bool is_ref = r.structured_content && r.structured_content->is_object() &&
                        r.structured_content->as_object().contains("ref_id");
    if (r.is_error || is_ref != want_ref) throw std::runtime_error("blob: unexpected answer");
    if (i > 0) ms.push_back(t);  // the first call warms up
  }
  return median(ms);
}

std::string fmt(double v) {
  char b[64];
  (void)std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

// A field of /proc/PID/status (VmRSS, VmHWM) in MiB; 0 when it cannot be read.
double status_mib(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;
  return 0;
}

std::string write_config(const fs::path& dir, const std::string& upstream) {
  const fs::path p = dir / "mcp.json";
  std::ofstream(p) << R"({"mcpServers":{"bench":)" << upstream << "}}\n";
  return p.string();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--serve-stdio") return serve_stdio();
  if (argc > 1 && std::string(argv[1]) == "--serve-http") return serve_http();
  long calls = 2000;
  int reps = 5;
  std::string gateway = REFCACHE_BENCH_GATEWAY;
  std::string redis_url;
  long large_mb = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const std::string v = argv[i + 1];
    if (k == "--calls") calls = std::stol(v);
    if (k == "--reps") reps = std::stoi(v);
    if (k == "--gateway") gateway = v;
    if (k == "--redis") redis_url = v;
    if (k == "--large-mb") large_mb = std::stol(v);
  }
  char self_buf[4096];
  const ssize_t n = readlink("/proc/self/exe", self_buf, sizeof self_buf - 1);
  if (n <= 0) return 1;
  const std::string self(self_buf, static_cast<std::size_t>(n));
  const fs::path dir = fs::temp_directory_path() / ("gateway-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string stdio_upstream = boost::json::serialize(
      boost::json::object{{"command", self}, {"args", boost::json::array{"--serve-stdio"}}});
  const std::string config = write_config(dir, stdio_upstream);
  auto connect = [](std::unique_ptr<mcp::ClientTransport> t) {
    auto c = std::make_unique<mcp::Client>(
        mcp::ClientOptions{.info = {.name = "gateway-bench", .version = "1"}});
    c->connect(std::move(t));
    return c;
  };
  auto stdio = [](std::string cmd, std::vector<std::string> args) {
    return std::make_unique<mcp::StdioClientTransport>(
        mcp::StdioClientOptions{.command = std::move(cmd), .args = std::move(args)});
  };
  auto http = [](const std::string& url) {
    return std::make_unique<mcp::StreamableHttpClientTransport>(
        mcp::StreamableHttpClientOptions{.url = url, .standalone_stream = false});
  };
  auto section = [](const Latency& direct, const Latency& via) {
    return R"({"direct_p50_us":)" + fmt(direct.p50_us) + R"(,"direct_p99_us":)" +
           fmt(direct.p99_us) + R"(,"gateway_p50_us":)" + fmt(via.p50_us) +
           R"(,"gateway_p99_us":)" + fmt(via.p99_us) + R"(,"added_p50_us":)" +
           fmt(via.p50_us - direct.p50_us) + R"(,"added_p99_us":)" +
           fmt(via.p99_us - direct.p99_us) + "}";
  };

  bool ok = true;
  std::string stdio_json = "null";
  std::string http_json = "null";
  std::string store_json = "null";
  std::string large_json = "null";
  Child redis;
  try {
    // Over stdio.
    {
      auto direct = connect(stdio(self, {"--serve-stdio"}));
      auto via = connect(stdio(gateway, {"--config", config, "--backend", "memory:"}));
      const Latency d = echo_latency(*direct, calls);
      const Latency g = echo_latency(*via, calls);
      stdio_json = section(d, g);
    }
    // Over Streamable HTTP: the upstream over HTTP, the gateway served over HTTP in front of it.
    {
      Child up = spawn_child({self, "--serve-http"}, 1);
      const std::string port = read_until(up.out_fd, [](const std::string& s) {
        const auto nl = s.find('\n');
        return nl == std::string::npos ? std::string{} : s.substr(0, nl);
      });
      const std::string up_url = "http://127.0.0.1:" + port + "/mcp";
      const fs::path http_dir = dir / "http";
      fs::create_directories(http_dir);
      const std::string http_config = write_config(
          http_dir, boost::json::serialize(boost::json::object{{"type", "http"}, {"url", up_url}}));
      Child gw =
          spawn_child({gateway, "--config", http_config, "--backend", "memory:", "--transport",
                       "http", "--host", "127.0.0.1", "--port", "0"},
                      2);
      const std::string gw_url = read_until(gw.out_fd, [](const std::string& s) {
        const auto at = s.find("listening on http://");
        if (at == std::string::npos) return std::string{};
        const auto start = at + std::string("listening on ").size();
        const auto end = s.find_first_of(" \n", start);
        return end == std::string::npos ? std::string{} : s.substr(start, end - start);
      });
      // The gateway's log goes on into the pipe: drain it.
      std::thread drain([fd = gw.out_fd] {
        char buf[4096];
        while (read(fd, buf, sizeof buf) > 0) {
        }
      });
      {
        auto direct = connect(http(up_url));
        auto via = connect(http(gw_url));
        const Latency d = echo_latency(*direct, calls);
        const Latency g = echo_latency(*via, calls);
        http_json = section(d, g);
      }
      kill(gw.pid, SIGTERM);
      waitpid(gw.pid, nullptr, 0);
      drain.join();
      close(gw.out_fd);
      close(gw.stdin_fd);
      stop_child(up);
    }
    // Interception and storage of 1 MB and 10 MB.
    if (redis_url.empty()) {
      const std::uint16_t port = free_port();
      redis = spawn_child({"/usr/bin/redis-server", "--port", std::to_string(port), "--bind",
                           "127.0.0.1", "--save", "", "--appendonly", "no"},
                          1);
      read_until(redis.out_fd, [](const std::string& s) {
        return s.find("Ready to accept") == std::string::npos ? std::string{} : std::string("y");
      });
      std::thread([fd = redis.out_fd] {
        char buf[4096];
        while (read(fd, buf, sizeof buf) > 0) {
        }
      }).detach();
      redis.out_fd = -1;
      redis_url = "redis://127.0.0.1:" + std::to_string(port) + "/0";
    }
    auto direct = connect(stdio(self, {"--serve-stdio"}));
    auto sqlite = connect(
        stdio(gateway, {"--config", config, "--backend", "sqlite:" + (dir / "store.db").string()}));
    auto on_redis = connect(stdio(gateway, {"--config", config, "--backend", redis_url}));
    std::string s = "{";
    for (const auto& [label, bytes] :
         std::vector<std::pair<std::string, std::int64_t>>{{"1mb", 1 << 20}, {"10mb", 10 << 20}}) {
      const double d = blob_ms(*direct, bytes, reps, false);
      const double q = blob_ms(*sqlite, bytes, reps, true);
      const double r = blob_ms(*on_redis, bytes, reps, true);
      if (s.size() > 1) s += ',';
      s += "\"" + label + R"(":{"direct_ms":)" + fmt(d) + R"(,"sqlite_ms":)" + fmt(q) +
           R"(,"sqlite_store_ms":)" + fmt(q - d) + R"(,"redis_ms":)" + fmt(r) +
           R"(,"redis_store_ms":)" + fmt(r - d) + "}";
    }
    store_json = s + "}";
    // A result far beyond the threshold, once, through a fresh stdio gateway on SQLite: its
    // time and the gateway's peak resident memory.
    if (large_mb > 0) {
      const std::int64_t bytes = std::int64_t{large_mb} * 1000 * 1000;
      auto t = std::make_unique<mcp::StdioClientTransport>(mcp::StdioClientOptions{
          .command = gateway,
          .args = {"--config", config, "--backend", "sqlite:" + (dir / "large.db").string(),
                   "--quota-bytes", std::to_string(bytes * 2), "--call-timeout", "600"}});
      mcp::StdioClientTransport* transport = t.get();
      auto via = std::make_unique<mcp::Client>(
          mcp::ClientOptions{.info = {.name = "gateway-bench", .version = "1"},
                             .request_timeout = std::chrono::minutes(10)});
      via->connect(std::move(t));
      const double before = status_mib(transport->pid(), "VmRSS");
      const auto start = Clock::now();
      const mcp::CallToolResult r = via->call_tool("blob", boost::json::object{{"bytes", bytes}});
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      const double peak = status_mib(transport->pid(), "VmHWM");
      if (r.is_error || !r.structured_content || !r.structured_content->is_object() ||
          !r.structured_content->as_object().contains("ref_id"))
        throw std::runtime_error("large blob: not answered with a ref");
      large_json = R"({"mb":)" + std::to_string(large_mb) + R"(,"sqlite_ms":)" + fmt(ms) +
                   R"(,"gateway_rss_before_mib":)" + fmt(before) + R"(,"gateway_peak_rss_mib":)" +
                   fmt(peak) + R"(,"peak_over_result":)" +
                   fmt((peak - before) * 1024 * 1024 / static_cast<double>(bytes)) + "}";
    }
  } catch (const std::exception& e) {
    (void)std::fprintf(stderr, "gateway_bench: %s\n", e.what());
    ok = false;
  }
  stop_child(redis);
  std::error_code ec;
  fs::remove_all(dir, ec);
  std::printf(
      "{\"bench\":\"G1_gateway\",\"ok\":%s,\"calls\":%ld,\"reps\":%d,\"stdio\":%s,\"http\":%s,"
      "\"store\":%s,\"large\":%s,\"goal_added_p50_us\":150,\"goal_store_1mb_sqlite_ms\":15}\n",
      ok ? "true" : "false", calls, reps, stdio_json.c_str(), http_json.c_str(), store_json.c_str(),
      large_json.c_str());
  return ok ? 0 : 1;
}
