#include "mcp/serve.hpp"

#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <stdexcept>

namespace mcp {

namespace {

int g_signal_pipe[2] = {-1, -1};

void on_signal(int) {
  char c = 1;
  // write(2) is async-signal-safe; a full pipe only means a stop is already pending.
  [[maybe_unused]] auto n = ::write(g_signal_pipe[1], &c, 1);
}

std::uint16_t parse_port(const std::string& s) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < 0 || v > 65535)
    throw std::invalid_argument("invalid port: " + s);
  return static_cast<std::uint16_t>(v);
}

TransportConfig::Kind parse_kind(const std::string& s) {
  if (s == "stdio") return TransportConfig::Kind::kStdio;
  if (s == "http" || s == "streamable-http" || s == "sse") return TransportConfig::Kind::kHttp;
  throw std::invalid_argument("unknown transport: " + s + " (stdio or http)");
}

}  // namespace

TransportConfig TransportConfig::from_flags(int argc, char** argv) {
  TransportConfig c;
  if (const char* e = std::getenv("MCP_TRANSPORT"); e && *e) c.kind = parse_kind(e);
  if (const char* e = std::getenv("MCP_HOST"); e && *e) c.http.host = e;
  if (const char* e = std::getenv("MCP_PORT"); e && *e) c.http.port = parse_port(e);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--transport")
      c.kind = parse_kind(value());
    else if (a == "--stdio")
      c.kind = Kind::kStdio;
    else if (a == "--http")
      c.kind = Kind::kHttp;
    else if (a == "--host")
      c.http.host = value();
    else if (a == "--port")
      c.http.port = parse_port(value());
    else if (a == "--path")
      c.http.path = value();
    else if (a == "--allow-host")
      c.http.allowed_hosts.push_back(value());
    else if (a == "--allow-origin")
      c.http.allowed_origins.push_back(value());
    else if (a == "--allow-any-host")
      c.http.allow_any_host = true;
    else if (a == "--no-legacy-sse")
      c.http.legacy_sse = false;
  }
  return c;
}

void return_large_blocks_to_os(std::size_t threshold) {
#if defined(__GLIBC__)
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "malloc.mmap_threshold")) return;
  // glibc marks mallopt "const:mallopt": it writes settings that allocations read unlocked.
  // Called once at start-up; an allocation racing with it sees the old or the new threshold.
  mallopt(M_MMAP_THRESHOLD,  // NOLINT(concurrency-mt-unsafe)
          static_cast<int>(std::min<std::size_t>(threshold, std::numeric_limits<int>::max())));
#else
  (void)threshold;
#endif
}

int serve(Server& server, const TransportConfig& config) {
  return_large_blocks_to_os();
  if (config.kind == TransportConfig::Kind::kStdio) return serve_stdio(server, config.stdio);
  // Logs go to stderr on every transport (the HTTP transport's warnings included).
  if (auto logger = spdlog::default_logger(); logger && logger->name().empty()) {
    auto err = spdlog::get("mcp-stderr");
    if (!err) {
      err = spdlog::stderr_color_mt("mcp-stderr");
      err->set_level(logger->level());
    }
    spdlog::set_default_logger(err);
  }
  if (::pipe(g_signal_pipe) != 0) return 1;
  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  int rc = 0;
  {
    HttpServer http(server, config.http);
    try {
      http.start();
    } catch (const std::invalid_argument& e) {
      std::cerr << e.what() << std::endl;
      rc = 2;
    } catch (const std::exception& e) {
      std::cerr << "cannot listen on " << config.http.host << ":" << config.http.port << ": "
                << e.what() << std::endl;
      rc = 1;
    }
    if (rc == 0) {
      std::cerr << "listening on http://" << config.http.host << ":" << http.port()
                << config.http.path << std::endl;
      char c;
      while (::read(g_signal_pipe[0], &c, 1) < 0 && errno == EINTR) {
      }
      http.stop();
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  ::close(g_signal_pipe[0]);
  ::close(g_signal_pipe[1]);
  return rc;
}

}  // namespace mcp
