// refcache::LogFields and the context carrier: what a log line written on this thread should
// say about the work in progress beyond its message, for structured log formats, and the way
// that context reaches the threads work is handed to.
//
// The library sets LogFields around the log lines it writes about one operation (the
// InstrumentedBackend: operation name, ref id, duration); a log formatter reads
// current_log_fields() while it formats the line (spdlog's synchronous loggers format on the
// logging thread). Ids only: a field never holds a cached value.
//
// The library does not know the tracing of the program it runs in (the MCP SDK keeps the
// current trace in a thread-local of its own). A program sets a context carrier once, at start
// (refcache::mcp::configure_logging sets mcp::bind_current_trace); RefCache's background pools
// wrap every job they are given with carry_context(), so a job runs under the context of the
// thread that submitted it.
//
// Thread-safety: LogFields are per thread (a LogFieldsScope must end on the thread that opened
// it). set_context_carrier() and carry_context() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace refcache {

struct LogFields {
  // A backend operation's name ("get", "set", ... as to_string(BackendOp)); empty when none.
  std::string_view operation{};
  // The ref the line is about; empty when none.
  std::string_view ref_id{};
  // How long the operation took, in microseconds; unset when not timed.
  std::optional<std::int64_t> duration_us{};
};

// The fields of the innermost LogFieldsScope on this thread, or nullptr.
const LogFields* current_log_fields();

// Makes `fields` current on this thread until the scope ends (the views must outlive it).
class LogFieldsScope {
 public:
  explicit LogFieldsScope(const LogFields& fields);
  ~LogFieldsScope();
  LogFieldsScope(const LogFieldsScope&) = delete;
  LogFieldsScope& operator=(const LogFieldsScope&) = delete;

 private:
  LogFields fields_;
  const LogFields* saved_;
};

// Wraps a job so that it runs under the submitting thread's context (trace, tool), wherever it
// runs.
using ContextCarrier = std::function<std::function<void()>(std::function<void()>)>;
// Sets the carrier every carry_context() call uses; an empty one (the default) carries nothing.
void set_context_carrier(ContextCarrier carrier);
// `job` wrapped by the carrier, or `job` itself when none is set.
std::function<void()> carry_context(std::function<void()> job);

}  // namespace refcache
