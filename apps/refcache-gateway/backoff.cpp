#include "backoff.hpp"

#include <algorithm>

namespace gateway {

std::chrono::milliseconds Backoff::next() {
  ++attempts_;
  if (current_.count() <= 0) {
    current_ = std::min(policy_.initial, policy_.max);
  } else {
    const double grown = static_cast<double>(current_.count()) * std::max(policy_.factor, 1.0);
    const double capped = std::min(grown, static_cast<double>(policy_.max.count()));
    current_ = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(capped));
  }
  return current_;
}

void Backoff::reset() {
  current_ = std::chrono::milliseconds(0);
}

}  // namespace gateway
