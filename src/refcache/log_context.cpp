#include "refcache/log_context.hpp"

#include <memory>
#include <mutex>
#include <utility>

namespace refcache {

namespace {

const LogFields*& innermost() {
  thread_local const LogFields* fields = nullptr;
  return fields;
}

struct Carrier {
  std::mutex mu;
  std::shared_ptr<const ContextCarrier> fn;
};

Carrier& carrier() {
  static Carrier c;
  return c;
}

}  // namespace

const LogFields* current_log_fields() {
  return innermost();
}

LogFieldsScope::LogFieldsScope(const LogFields& fields) : fields_(fields), saved_(innermost()) {
  innermost() = &fields_;
}

LogFieldsScope::~LogFieldsScope() {
  innermost() = saved_;
}

void set_context_carrier(ContextCarrier carrier_fn) {
  auto p = carrier_fn ? std::make_shared<const ContextCarrier>(std::move(carrier_fn)) : nullptr;
  std::lock_guard lk(carrier().mu);
  carrier().fn = std::move(p);
}

std::function<void()> carry_context(std::function<void()> job) {
  std::shared_ptr<const ContextCarrier> fn;
  {
    std::lock_guard lk(carrier().mu);
    fn = carrier().fn;
  }
  return fn ? (*fn)(std::move(job)) : job;
}

}  // namespace refcache
