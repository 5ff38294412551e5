// Backoff: the delays between attempts to (re)start an upstream. The first delay is
// `initial`, each next one `factor` times the last, never more than `max`; reset() starts over
// after a success. Defaults: 0.5 s doubling to 30 s.
//
// Thread-safety: none; one supervisor thread owns each Backoff.
#pragma once

#include <chrono>
#include <cstdint>

namespace gateway {

struct BackoffPolicy {
  // The delay before the first retry.
  std::chrono::milliseconds initial{500};
  // The longest delay between two attempts.
  std::chrono::milliseconds max{30000};
  // Each delay is the previous one times this (at least 1).
  double factor{2.0};
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {}) : policy_(policy) {}
  // The delay to wait before the next attempt; counts the attempt.
  std::chrono::milliseconds next();
  // Starts over at `initial` (after a successful attempt). Keeps the attempt count.
  void reset();
  // Attempts counted by next() since construction.
  std::uint64_t attempts() const { return attempts_; }

 private:
  BackoffPolicy policy_;
  std::chrono::milliseconds current_{0};
  std::uint64_t attempts_ = 0;
};

}  // namespace gateway
