// Internal: where the client side of the SDK logs. The logger "mcp-client" writes to stderr
// (stdout may carry a program's own output, or be a stdio server's protocol channel); an
// application that registers a spdlog logger of that name before the first client log line
// gets the lines instead. LogLimiter keeps a flood (a server sending garbage by the thousand)
// from flooding the log as well.
//
// Thread-safety: both may be used from any thread.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace mcp::detail {

// The "mcp-client" logger (created on first use).
spdlog::logger& client_log();

// Lets the first `burst` events through, then those whose count is a power of two: a flood of
// a million events logs about forty lines, each with the count so far.
class LogLimiter {
 public:
  explicit LogLimiter(std::uint64_t burst = 20) : burst_(burst) {}
  // Whether this event is to be logged; `n` receives how many events there were so far.
  bool allow(std::uint64_t* n = nullptr) {
    const std::uint64_t k = count_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n) *n = k;
    return k <= burst_ || (k & (k - 1)) == 0;
  }

 private:
  std::uint64_t burst_;
  std::atomic<std::uint64_t> count_{0};
};

}  // namespace mcp::detail
