#include "mcp/trace_scope.hpp"

#include <utility>

namespace mcp {

namespace {

struct Current {
  std::optional<TraceContext> trace{};
  std::string tool{};
};

Current& current() {
  thread_local Current c;
  return c;
}

}  // namespace

const TraceContext* current_trace() {
  const Current& c = current();
  return c.trace ? &*c.trace : nullptr;
}

std::string_view current_tool() {
  return current().tool;
}

TraceScope::TraceScope(TraceContext trace, std::string tool) : active_(true) {
  Current& c = current();
  saved_.trace = std::move(c.trace);
  saved_.tool = c.tool;
  c.trace = std::move(trace);
  if (!tool.empty()) c.tool = std::move(tool);
}

TraceScope::TraceScope(const std::optional<TraceContext>& trace, std::string tool) {
  if (!trace) return;
  active_ = true;
  Current& c = current();
  saved_.trace = std::move(c.trace);
  saved_.tool = c.tool;
  c.trace = *trace;
  if (!tool.empty()) c.tool = std::move(tool);
}

TraceScope::~TraceScope() {
  if (!active_) return;
  Current& c = current();
  c.trace = std::move(saved_.trace);
  c.tool = std::move(saved_.tool);
}

std::function<void()> bind_current_trace(std::function<void()> fn) {
  const Current& c = current();
  if (!c.trace) return fn;
  return [fn = std::move(fn), trace = *c.trace, tool = c.tool]() mutable {
    TraceScope scope(trace, tool);
    fn();
  };
}

}  // namespace mcp
