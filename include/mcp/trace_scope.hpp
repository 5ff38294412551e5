// mcp::TraceScope: the trace context (and the tool, when there is one) of the operation the
// current thread serves, so that code far below a handler -- the cached call, ref resolution,
// backend operations, log lines, outgoing MCP client requests -- knows it without every
// signature on the way carrying it.
//
// The dispatcher opens a scope around each handler (ToolContext::trace() is the same context);
// mcp::Client puts current_trace()'s child into the requests it sends; the JSON log format
// writes its trace id and span id into every line. Scopes nest: a scope restores the one it
// replaced when it ends.
//
// The state is thread-local. Work handed to another thread does not see it unless it is
// captured there: `bind_current_trace(fn)` returns fn wrapped to run under the caller's trace.
// The SDK's worker pools (handlers, tasks) do this for every job they are given.
//
// Thread-safety: each thread has its own current trace; a TraceScope must end on the thread
// that opened it (it is neither copyable nor movable).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "mcp/trace_context.hpp"

namespace mcp {

// The current thread's trace context, or nullptr outside every scope.
const TraceContext* current_trace();
// The tool the current thread's operation serves (tools/call), or empty.
std::string_view current_tool();

class TraceScope {
 public:
  // Makes `trace` (and `tool`) current until the scope ends. An empty `tool` keeps the tool of
  // the enclosing scope.
  explicit TraceScope(TraceContext trace, std::string tool = {});
  // As above when `trace` has a value; else the enclosing state stays.
  explicit TraceScope(const std::optional<TraceContext>& trace, std::string tool = {});
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;

 private:
  struct State {
    std::optional<TraceContext> trace{};
    std::string tool{};
  };
  State saved_{};
  bool active_ = false;
};

// `fn` wrapped to run under the calling thread's current trace and tool (unchanged when there
// is none), wherever it runs.
std::function<void()> bind_current_trace(std::function<void()> fn);

}  // namespace mcp
