#include <vector>

#include "mcp/context.hpp"

namespace mcp {

void CancellationToken::on_cancel(std::function<void()> fn) {
  {
    std::lock_guard lk(mu_);
    if (!flag_.load()) {
      callbacks_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void CancellationToken::cancel() {
  std::vector<std::function<void()>> cbs;
  {
    std::lock_guard lk(mu_);
    if (flag_.exchange(true)) return;
    cbs.swap(callbacks_);
  }
  // A callback that throws must not keep the others from running.
  for (auto& f : cbs) {
    try {
      f();
    } catch (...) {
    }
  }
}

}  // namespace mcp
