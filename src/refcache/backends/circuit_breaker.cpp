// The circuit breaker of RedisBackend (see circuit_breaker.hpp).
#include "refcache/backends/circuit_breaker.hpp"

#include <algorithm>

namespace refcache::redis_detail {

std::optional<std::string> CircuitBreaker::admit() {
  if (threshold_ <= 0) return std::nullopt;
  refcache_sync::Lock lock(mu_);
  if (state_ == State::kClosed) return std::nullopt;
  auto now = Clock::now();
  if (state_ == State::kOpen && now >= probe_at_) {
    state_ = State::kHalfOpen;
    probing_ = false;
  }
  if (state_ == State::kHalfOpen && !probing_) {
    probing_ = true;  // this call is the probe
    return std::nullopt;
  }
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(probe_at_ - now).count();
  return "circuit open after " + std::to_string(consecutive_failures_) +
         " consecutive failures (last: " + last_error_ + "); failing fast, next probe in " +
         std::to_string(std::max<long long>(wait, 0)) + " ms";
}

void CircuitBreaker::on_success() {
  if (threshold_ <= 0) return;
  refcache_sync::Lock lock(mu_);
  consecutive_failures_ = 0;
  state_ = State::kClosed;
  probing_ = false;
}

void CircuitBreaker::on_failure(const std::string& what) {
  if (threshold_ <= 0) return;
  refcache_sync::Lock lock(mu_);
  ++consecutive_failures_;
  last_error_ = what;
  if (state_ == State::kHalfOpen || consecutive_failures_ >= threshold_) {
    state_ = State::kOpen;
    probing_ = false;
    probe_at_ = Clock::now() + open_time_;
  }
}

CircuitBreaker::State CircuitBreaker::state() const {
  if (threshold_ <= 0) return State::kClosed;
  refcache_sync::Lock lock(mu_);
  return state_;
}

}  // namespace refcache::redis_detail
