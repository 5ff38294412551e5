#include "mcp/serve.hpp"

#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/system/system_error.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <system_error>

namespace mcp {

namespace {

// The self-pipe the signal handler writes the signal number to; serve() reads it.
int g_signal_pipe[2] = {-1, -1};

void on_signal(int sig) {
  const char c = static_cast<char>(sig);
  // write(2) is async-signal-safe; a full pipe only means a stop is already pending.
  [[maybe_unused]] auto n = ::write(g_signal_pipe[1], &c, 1);
}

// Points spdlog's default logger at stderr unless the application set one of its own (a named
// default logger): stdout belongs to the stdio transport.
void log_to_stderr() {
  auto logger = spdlog::default_logger();
  if (logger && !logger->name().empty()) return;
  auto err = spdlog::get("mcp-stderr");
  if (!err) {
    err = spdlog::stderr_color_mt("mcp-stderr");
    if (logger) err->set_level(logger->level());
  }
  spdlog::set_default_logger(err);
}

// Through the default logger when it lets `level` through, else straight to stderr: these
// lines are what scripts wait for and operators read, whatever the log level.
void say(spdlog::level::level_enum level, const std::string& text) {
  if (auto logger = spdlog::default_logger(); logger && logger->should_log(level)) {
    logger->log(level, text);
    logger->flush();
  } else {
    std::cerr << text << std::endl;
  }
}

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
}

// Blocks until SIGINT or SIGTERM; returns the signal, or 0 when waiting failed.
int wait_for_signal() {
  char c = 0;
  for (;;) {
    const auto n = ::read(g_signal_pipe[0], &c, 1);
    if (n == 1) return static_cast<unsigned char>(c);
    if (n < 0 && errno == EINTR) continue;
    return 0;
  }
}

}  // namespace

void return_large_blocks_to_os(std::size_t threshold, std::size_t keep_free) {
#if defined(__GLIBC__)
  // The first call decides: serve() calls this with the defaults after a program that chose
  // otherwise has made its own call.
  static std::atomic<bool> decided{false};
  if (decided.exchange(true)) return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "malloc.mmap_threshold")) return;
  const auto as_int = [](std::size_t n) {
    return static_cast<int>(std::min<std::size_t>(n, std::numeric_limits<int>::max()));
  };
  // glibc marks mallopt "const:mallopt": it writes settings that allocations read unlocked.
  // Called once at start-up; an allocation racing with it sees the old or the new setting.
  mallopt(M_MMAP_THRESHOLD, as_int(threshold));  // NOLINT(concurrency-mt-unsafe)
  mallopt(M_TRIM_THRESHOLD, as_int(keep_free));  // NOLINT(concurrency-mt-unsafe)
#else
  (void)threshold;
  (void)keep_free;
#endif
}

int serve(Server& server, const TransportConfig& config) {
  return_large_blocks_to_os();
  if (config.kind == TransportConfig::Kind::kStdio) return serve_stdio(server, config.stdio);
  log_to_stderr();
  const HttpOptions& o = config.http;
  if (::pipe(g_signal_pipe) != 0) {
    say(spdlog::level::err, "cannot serve HTTP: pipe: " + std::system_category().message(errno));
    return 1;
  }
  struct sigaction sa {
  }, old_int{}, old_term{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  int rc = 0;
  {
    HttpServer http(server, o);
    const std::string where = "http://" + url_host(o.host) + ":" + std::to_string(o.port);
    try {
      http.start();
    } catch (const std::invalid_argument& e) {
      say(spdlog::level::err, e.what());
      rc = 2;
    } catch (const boost::system::system_error& e) {
      // A port in use, an address that is not ours: say which, without Boost's source location.
      say(spdlog::level::err, "cannot listen on " + where + ": " + e.code().message());
      rc = 1;
    } catch (const std::exception& e) {
      say(spdlog::level::err, "cannot listen on " + where + ": " + e.what());
      rc = 1;
    }
    if (rc == 0) {
      std::string line =
          "listening on http://" + url_host(o.host) + ":" + std::to_string(http.port()) + o.path;
      if (o.legacy_sse) line += " (legacy SSE on " + o.sse_path + ")";
      say(spdlog::level::info, line);
      const int sig = wait_for_signal();
      say(spdlog::level::info, "signal " + std::to_string(sig) + ": stopping");
      http.stop();
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  ::close(g_signal_pipe[0]);
  ::close(g_signal_pipe[1]);
  g_signal_pipe[0] = g_signal_pipe[1] = -1;
  return rc;
}

}  // namespace mcp
