// Tasks: a tool call that answers at once with a task id and runs on; the client polls the task
// (2026-07-28 extension "io.modelcontextprotocol/tasks", SEP-2663: tasks/get, tasks/update,
// tasks/cancel; the 2025-11-25 experimental core tasks: tasks/get, tasks/result, tasks/list,
// tasks/cancel). A tool opts in with ToolSpec::task_support; these are the server-wide limits.
//
// Thread-safety: plain value type.
#pragma once

#include <chrono>
#include <cstddef>

namespace mcp {

struct TaskOptions {
  // Tasks kept at once (running, waiting for input, or finished and not yet expired). When full,
  // a call to an `optional` task tool runs synchronously and one to a `required` tool is
  // answered -32603 "Too many tasks".
  std::size_t max_tasks = 1000;
  // The same bound per owner (authenticated principal, else legacy session, else everyone).
  std::size_t max_tasks_per_owner = 100;
  // How long a task is kept after its creation (ttlMs). A task still running when its ttl ends
  // is cancelled and forgotten. A 2025-11-25 client may ask for a ttl; it is clamped to max_ttl.
  std::chrono::milliseconds default_ttl = std::chrono::minutes(10);
  std::chrono::milliseconds max_ttl = std::chrono::hours(1);
  // Threads that run task handlers: a pool of their own, started with the first task, so that
  // long tasks never take the workers of ordinary requests. Tasks beyond it wait (working).
  std::size_t worker_threads = 4;
  // Suggested polling interval sent to clients (pollIntervalMs / pollInterval).
  std::chrono::milliseconds poll_interval = std::chrono::milliseconds(500);
};

}  // namespace mcp
