// The task engine: tools/call as tasks, and tasks/* for both protocol eras.
#include "task_engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "call_state.hpp"
#include "mcp/errors.hpp"
#include "mcp/trace_scope.hpp"

namespace mcp::detail {

namespace bj = boost::json;
using CallPtr = std::shared_ptr<CallState>;
using std::chrono::milliseconds;

namespace {
constexpr std::string_view kRelatedTask = "io.modelcontextprotocol/related-task";

class NullOutbound : public Outbound {
 public:
  bool send(std::string) override { return false; }
  void respond(std::string, int) override {}
  bool is_open() const override { return false; }
};

const bj::string* get_string(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->value().if_string();
}

bj::object error_object(int code, std::string_view message, const bj::value& data = nullptr) {
  bj::object e{{"code", code}, {"message", message}};
  if (!data.is_null()) e["data"] = data;
  return e;
}
}  // namespace

namespace {
bj::object task_fields(const TaskRecord& t, const TaskOptions& opt, Era era) {
  bj::object o{{"taskId", t.id},
               {"status", to_string(t.status)},
               {"createdAt", iso8601(t.created)},
               {"lastUpdatedAt", iso8601(t.updated)}};
  if (!t.status_message.empty()) o["statusMessage"] = t.status_message;
  if (era == Era::kModern) {
    o["ttlMs"] = static_cast<std::int64_t>(t.ttl.count());
    o["pollIntervalMs"] = static_cast<std::int64_t>(opt.poll_interval.count());
  } else {
    o["ttl"] = static_cast<std::int64_t>(t.ttl.count());
    o["pollInterval"] = static_cast<std::int64_t>(opt.poll_interval.count());
  }
  return o;
}
}  // namespace

TaskEngine::TaskEngine(const TaskOptions& options, Hooks hooks)
    : store_(options), hooks_(std::move(hooks)) {}

TaskEngine::~TaskEngine() {
  shutdown();
}

void TaskEngine::shutdown() {
  store_.cancel_all();
  WorkerPool* p;
  {
    refcache_sync::Lock lk(pool_mu_);
    stopped_ = true;
    p = pool_.get();
  }
  if (p) p->stop();
}

void TaskEngine::run_async(const TaskPtr& t, const CallPtr& c) {
  bool queued = false;
  {
    refcache_sync::Lock lk(pool_mu_);
    if (!stopped_) {
      if (!pool_) {
        const auto& o = store_.options();
        pool_ = std::make_unique<WorkerPool>(std::max<std::size_t>(1, o.worker_threads),
                                             std::max<std::size_t>(1, o.max_tasks));
      }
      queued = pool_->submit([this, c] { execute(c); });
    }
  }
  if (!queued)
    store_.fail(t, error_object(error_code::kInternalError, "The server cannot run tasks now"));
}

bool TaskEngine::negotiated(const CallState& c) {
  auto it = c.client_caps.find("extensions");
  if (it == c.client_caps.end() || !it->value().is_object()) return false;
  return it->value().get_object().contains(kTasksExtension);
}

std::string TaskEngine::owner_of(const CallState& c) {
  if (c.principal) return "principal:" + c.principal->subject;
  if (c.session && !c.session->stateless()) return "session:" + c.session->id();
  return {};
}

void TaskEngine::gate(const CallPtr& c) const {
  if (negotiated(*c)) return;
  throw Error(
      error_code::kMissingRequiredClientCapability,
      "Missing required client capability: extensions." + std::string(kTasksExtension),
      bj::object{{"requiredCapabilities",
                  bj::object{{"extensions", bj::object{{kTasksExtension, bj::object{}}}}}}});
}

TaskPtr TaskEngine::lookup(const CallPtr& c) {
  auto* id = get_string(c->params, "taskId");
  if (!id) throw Error(error_code::kInvalidParams, "Invalid params: taskId must be a string");
  auto t = store_.find(*id, owner_of(*c));
  if (!t) throw Error(error_code::kInvalidParams, "Unknown task: " + std::string(*id));
  return t;
}

std::optional<bj::value> TaskEngine::tool_call(const CallPtr& c, const ToolSpec& spec,
                                               TaskInvoke invoke) {
  bool required = spec.task_support == TaskSupport::kRequired;
  if (c->era == Era::kLegacy) {
    auto it = c->params.find("task");
    const bj::object* treq = it == c->params.end() ? nullptr : it->value().if_object();
    if (!treq) {
      if (required)
        throw Error(error_code::kMethodNotFound,
                    "Tool " + spec.name + " must be called as a task (params.task)");
      return std::nullopt;
    }
    if (spec.task_support == TaskSupport::kForbidden)
      throw Error(error_code::kMethodNotFound,
                  "Tool " + spec.name + " does not support task execution");
    std::optional<milliseconds> ttl;
    if (auto tt = treq->find("ttl"); tt != treq->end() && tt->value().is_number()) {
      std::error_code ec;
      auto v = tt->value().to_number<double>(ec);
      if (!ec && v > 0 && v < 1e15) ttl = milliseconds(static_cast<std::int64_t>(v));
    }
    c->tasks = this;
    c->task_invoke = std::move(invoke);
    if (!start(c, ttl)) throw Error(error_code::kInternalError, "Too many tasks");
    if (auto t = c->task.lock()) run_async(t, c);
    return bj::value(nullptr);
  }
  // 2026-07-28: the server decides; a `task` param of a 2025 client is ignored.
  if (spec.task_support == TaskSupport::kForbidden) return std::nullopt;
  if (!negotiated(*c)) {
    if (required) gate(c);
    return std::nullopt;
  }
  c->tasks = this;
  c->task_invoke = std::move(invoke);
  if (!spec.task_deferred) {
    if (start(c)) {
      if (auto t = c->task.lock()) run_async(t, c);
      return bj::value(nullptr);
    }
    if (required) throw Error(error_code::kInternalError, "Too many tasks");
  }
  return run_sync(c);
}

bool TaskEngine::start(const CallPtr& c, std::optional<milliseconds> ttl) {
  if (!c->task_id.empty()) return true;
  if (!c->tasks || c->done.load()) return false;
  auto t = store_.create(owner_of(*c), ttl);
  if (!t) return false;
  c->task_id = t->id;
  c->task = t;
  c->detached.store(true);
  std::weak_ptr<CallState> wc = c;
  store_.attach(t, c, [wc] {
    if (auto x = wc.lock()) x->token.cancel();
  });
  bj::object r = store_.read(
      t, [&](const TaskRecord& rec) { return task_fields(rec, store_.options(), c->era); });
  if (c->era == Era::kModern) {
    r["resultType"] = "task";
    hooks_.respond(c, std::move(r));
  } else {
    hooks_.respond(c, bj::object{{"task", std::move(r)}});
  }
  return true;
}

void TaskEngine::settle_exception(const TaskPtr& t, const CallPtr& c, const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const InputRequiredSignal& sig) {
    if (c->era != Era::kModern) {
      store_.fail(t, error_object(error_code::kInternalError,
                                  "The handler needs client input, which a 2025-11-25 task "
                                  "cannot carry"));
    } else if (sig.input_requests.empty()) {
      store_.fail(t, error_object(error_code::kInternalError,
                                  "The handler asked for input without any request"));
    } else {
      store_.park(t, sig.input_requests, sig.request_state);
    }
  } catch (const ResourceNotFound& ex) {
    store_.fail(t, error_object(c->era == Era::kModern ? error_code::kInvalidParams
                                                       : error_code::kResourceNotFound,
                                "Resource not found", bj::object{{"uri", ex.uri()}}));
  } catch (const Error& ex) {
    store_.fail(t, error_object(ex.code(), ex.what(), ex.data()));
  } catch (const std::exception& ex) {
    // The detail may name the server's source files (Boost.JSON errors do): the log keeps it.
    spdlog::error("mcp: a task's tools/call failed: {}", ex.what());
    store_.complete(t, CallToolResult::error("Internal error").to_json());
  } catch (...) {
    store_.fail(t, error_object(error_code::kInternalError, "Unknown error"));
  }
}

void TaskEngine::execute(const CallPtr& c) {
  auto t = c->task.lock();
  if (!t) return;
  ToolContext ctx(c);
  // The task is the request's span, whichever thread started it.
  TraceScope scope(c->trace, c->tool);
  try {
    CallToolResult r = c->task_invoke(ctx);
    store_.complete(t, r.to_json());
  } catch (...) {
    settle_exception(t, c, std::current_exception());
  }
}

bj::value TaskEngine::run_sync(const CallPtr& c) {
  ToolContext ctx(c);
  CallToolResult r;
  try {
    r = c->task_invoke(ctx);
  } catch (...) {
    if (auto t = c->task.lock()) {  // the handler had started a task: this is its outcome
      settle_exception(t, c, std::current_exception());
      return nullptr;
    }
    try {
      throw;
    } catch (const Error&) {
      throw;
    } catch (const InputRequiredSignal&) {
      throw;
    } catch (const std::exception& e) {
      spdlog::error("mcp: tool call failed: {}", e.what());
      r = CallToolResult::error("Internal error");
    }
  }
  if (auto t = c->task.lock()) {
    store_.complete(t, r.to_json());
    return nullptr;
  }
  if (!c->task_id.empty()) return nullptr;  // a task that expired meanwhile
  return r.to_json();
}

void TaskEngine::resume(const TaskPtr& t, bj::object answers, std::string state) {
  CallPtr prev = store_.read(t, [](const TaskRecord& r) { return r.call; });
  if (!prev) {
    store_.fail(t, error_object(error_code::kInternalError, "The task lost its handler"));
    return;
  }
  auto c = std::make_shared<CallState>();
  c->session = prev->session;
  c->out = std::make_shared<NullOutbound>();
  c->id = prev->id;
  c->id_key = prev->id_key;
  c->method = prev->method;
  c->era = prev->era;
  c->version = prev->version;
  c->params = prev->params;
  c->meta = prev->meta;
  c->client_caps = prev->client_caps;
  c->principal = prev->principal;
  c->peer_address = prev->peer_address;
  c->log_threshold = 100;
  c->done.store(true);  // nobody is listening: progress and logs are dropped
  c->tasks = this;
  c->task_invoke = prev->task_invoke;
  c->task_id = t->id;
  c->task = t;
  c->detached.store(true);
  c->params["inputResponses"] = std::move(answers);
  c->input_responses = &c->params["inputResponses"].get_object();
  c->request_state = std::move(state);
  std::weak_ptr<CallState> wc = c;
  store_.attach(t, c, [wc] {
    if (auto x = wc.lock()) x->token.cancel();
  });
  run_async(t, c);
}

// --- 2026-07-28 methods -------------------------------------------------------------------------

bj::value TaskEngine::modern_get(const CallPtr& c) {
  gate(c);
  auto t = lookup(c);
  return store_.read(t, [&](const TaskRecord& r) {
    bj::object o = task_fields(r, store_.options(), Era::kModern);
    if (r.status == TaskStatus::kCompleted) o["result"] = r.result;
    if (r.status == TaskStatus::kFailed) o["error"] = r.error;
    if (r.status == TaskStatus::kInputRequired) o["inputRequests"] = r.input_requests;
    return o;
  });
}

bj::value TaskEngine::modern_update(const CallPtr& c) {
  gate(c);
  auto it = c->params.find("inputResponses");
  if (it == c->params.end() || !it->value().is_object())
    throw Error(error_code::kInvalidParams, "Invalid params: inputResponses must be an object");
  auto t = lookup(c);
  bj::object answers;
  std::string state;
  if (store_.update(t, it->value().get_object(), answers, state) == TaskStore::Update::kResume)
    resume(t, std::move(answers), std::move(state));
  return bj::object{};
}

bj::value TaskEngine::modern_cancel(const CallPtr& c) {
  gate(c);
  store_.cancel(lookup(c));  // a terminal task stays as it is: the ack is the same
  return bj::object{};
}

// --- 2025-11-25 methods -------------------------------------------------------------------------

bj::value TaskEngine::legacy_get(const CallPtr& c) {
  auto t = lookup(c);
  return store_.read(
      t, [&](const TaskRecord& r) { return task_fields(r, store_.options(), Era::kLegacy); });
}

void TaskEngine::deliver_result(const CallPtr& c, const TaskPtr& t) {
  struct Out {
    TaskStatus status;
    bj::value result, error;
  };
  Out o = store_.read(t, [](const TaskRecord& r) { return Out{r.status, r.result, r.error}; });
  if (o.status == TaskStatus::kCompleted && o.result.is_object()) {
    bj::object r = o.result.get_object();
    bj::object meta;
    if (auto m = r.find("_meta"); m != r.end() && m->value().is_object())
      meta = m->value().get_object();
    meta[kRelatedTask] = bj::object{{"taskId", t->id}};
    r["_meta"] = std::move(meta);
    hooks_.respond(c, std::move(r));
  } else if (o.status == TaskStatus::kFailed && o.error.is_object()) {
    const auto& e = o.error.get_object();
    auto code = e.find("code");
    auto* msg = get_string(e, "message");
    hooks_.respond_error(c,
                         code != e.end() && code->value().is_int64()
                             ? static_cast<int>(code->value().get_int64())
                             : error_code::kInternalError,
                         msg ? std::string_view(*msg) : std::string_view("Task failed"),
                         e.contains("data") ? e.at("data") : bj::value(nullptr));
  } else {
    hooks_.respond_error(c, error_code::kInternalError, "Task was cancelled",
                         bj::object{{"taskId", t->id}});
  }
}

bj::value TaskEngine::legacy_result(const CallPtr& c) {
  auto t = lookup(c);
  if (!store_.when_terminal(t, [this, c, t] { deliver_result(c, t); }))
    throw Error(error_code::kInternalError, "Too many tasks/result requests waiting for this task");
  return nullptr;  // answered when the task ends
}

bj::value TaskEngine::legacy_list(const CallPtr& c) {
  bj::array a;
  for (auto& t : store_.list(owner_of(*c)))
    a.push_back(store_.read(
        t, [&](const TaskRecord& r) { return task_fields(r, store_.options(), Era::kLegacy); }));
  return bj::object{{"tasks", std::move(a)}};
}

bj::value TaskEngine::legacy_cancel(const CallPtr& c) {
  auto t = lookup(c);
  if (!store_.cancel(t))
    throw Error(error_code::kInvalidParams, "Task is already in a terminal status",
                bj::object{{"taskId", t->id}});
  return legacy_get(c);
}

}  // namespace mcp::detail
