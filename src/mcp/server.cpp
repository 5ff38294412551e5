// The protocol engine: JSON-RPC validation, era selection per message, the method table of
// both eras, result decoration (resultType, caching hints, serverInfo) and broadcasts.
#include "mcp/server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "call_state.hpp"
#include "crypto.hpp"
#include "deadline_timer.hpp"
#include "jsonio/json_text.hpp"
#include "task_engine.hpp"
#include "uri_template.hpp"
#include "worker_pool.hpp"

namespace mcp {

namespace bj = boost::json;
using detail::CallState;
using CallPtr = std::shared_ptr<CallState>;

namespace {
constexpr std::string_view kMetaVersion = "io.modelcontextprotocol/protocolVersion";
constexpr std::string_view kMetaCaps = "io.modelcontextprotocol/clientCapabilities";
constexpr std::string_view kMetaLogLevel = "io.modelcontextprotocol/logLevel";
constexpr std::string_view kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
constexpr std::string_view kMetaSubscriptionId = "io.modelcontextprotocol/subscriptionId";

std::string id_key(const bj::value& id) {
  return jsonio::to_string(id);
}

int modern_http_status(int code) {
  switch (code) {
    case error_code::kMethodNotFound:
      return 404;
    case error_code::kParseError:
    case error_code::kInvalidRequest:
    case error_code::kInvalidParams:
    case error_code::kHeaderMismatch:
    case error_code::kMissingRequiredClientCapability:
    case error_code::kUnsupportedProtocolVersion:
      return 400;
    default:
      return 200;
  }
}

const bj::object* get_object(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->value().if_object();
}
const bj::string* get_string(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->value().if_string();
}
std::string str(const bj::string* s) {
  return s ? std::string(*s) : std::string();
}

// "30 s", "1.5 s", "0.25 s": a duration as clients read it in a deadline message.
std::string seconds_text(std::chrono::milliseconds d) {
  std::string s = std::to_string(d.count() / 1000);
  if (auto ms = d.count() % 1000; ms != 0) {
    std::string frac = std::to_string(1000 + ms).substr(1);  // three digits
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
  return s + " s";
}

// What handlers' unexpected exceptions become for the client. The detail (std::exception::what()
// of a Boost.JSON error names a source file of the server, for one) goes to the log only.
constexpr std::string_view kInternalErrorText = "Internal error";
}  // namespace

// ---------------------------------------------------------------------------------------------
// CancellationToken, Session

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
  for (auto& f : cbs) {
    try {
      f();
    } catch (...) {
    }
  }
}

Session::Session(std::string id, TransportKind kind, bool stateless)
    : id_(std::move(id)), kind_(kind), stateless_(stateless) {}

void Session::set_standalone(std::shared_ptr<Outbound> out) {
  std::lock_guard lk(mu_);
  standalone_ = std::move(out);
}
std::shared_ptr<Outbound> Session::standalone() const {
  std::lock_guard lk(mu_);
  return standalone_;
}
std::string Session::protocol_version() const {
  std::lock_guard lk(mu_);
  return protocol_version_;
}
bj::object Session::client_capabilities() const {
  std::lock_guard lk(mu_);
  return client_capabilities_;
}
bool Session::subscribed(const std::string& uri) const {
  std::lock_guard lk(mu_);
  return subscriptions_.count(uri) > 0;
}
std::optional<std::string> Session::principal_subject() const {
  std::lock_guard lk(mu_);
  return principal_subject_;
}
void Session::set_principal_subject(std::string s) {
  std::lock_guard lk(mu_);
  principal_subject_ = std::move(s);
}
void Session::cancel_all() {
  std::vector<std::shared_ptr<CallState>> calls;
  std::vector<std::shared_ptr<std::promise<bj::value>>> pend;
  {
    std::lock_guard lk(mu_);
    for (auto& [k, w] : in_flight_)
      if (auto c = w.lock()) calls.push_back(c);
    for (auto& [k, p] : pending_) pend.push_back(p);
    pending_.clear();
  }
  for (auto& c : calls) c->token.cancel();
  for (auto& p : pend) {
    try {
      p->set_value(
          bj::object{{"error", bj::object{{"code", -32000}, {"message", "Connection closed"}}}});
    } catch (...) {
    }
  }
}
std::size_t Session::in_flight() const {
  std::lock_guard lk(mu_);
  std::size_t n = 0;
  for (auto& [k, w] : in_flight_)
    if (!w.expired()) ++n;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Server::Impl

// Per-tool call counters, kept by name so that replacing a tool keeps its counts.
struct ToolCounters {
  metrics::Counter ok, tool_error, protocol_error, input_required;
  metrics::Histogram duration{metrics::latency_buckets()};
};

struct ToolEntry {
  std::shared_ptr<ToolCounters> counters;
  ToolSpec spec;
  ToolHandler fn;
  bool validate;
  bj::value listed;                                                // spec.to_json(), computed once
  std::vector<std::pair<std::string, std::string>> header_params;  // x-mcp-header properties
};
struct ResourceEntry {
  Resource spec;
  ResourceHandler fn;
};
struct TemplateEntry {
  ResourceTemplate spec;
  TemplateHandler fn;
};
struct PromptEntry {
  PromptSpec spec;
  PromptHandler fn;
};
struct Listener {
  std::weak_ptr<Session> session;
  std::shared_ptr<Outbound> out;
  bj::value id;
  std::optional<Principal> principal;  // who opened the stream
  bool tools = false, prompts = false, resources = false;
  std::set<std::string> uris;
};

struct Server::Impl {
  Server& self;
  const ServerOptions& opt;
  std::unique_ptr<WorkerPool> pool;
  detail::DeadlineTimer deadlines;  // ServerOptions::call_timeout of calls on the pool
  std::string hmac_key = crypto::random_bytes(32);

  mutable std::shared_mutex reg_mu;
  std::vector<std::shared_ptr<ToolEntry>> tools;
  std::unordered_map<std::string, std::shared_ptr<ToolEntry>> tool_index;
  std::vector<std::shared_ptr<ResourceEntry>> resources;
  std::vector<std::shared_ptr<TemplateEntry>> templates;
  std::vector<std::shared_ptr<PromptEntry>> prompts;
  CompletionHandler completion;

  std::mutex sess_mu;
  std::vector<std::weak_ptr<Session>> sessions;
  std::vector<Listener> listeners;
  SubscribeCheck subscribe_check;  // under reg_mu

  // --- metrics (mcp/metrics.hpp) ---
  // Tool counters by name (under reg_mu; entries are never removed, so names stay bounded by
  // what was registered).
  std::map<std::string, std::shared_ptr<ToolCounters>> tool_counters;
  // Requests by method: the key set is fixed at construction (the method tables plus
  // "other"), so lookups need no lock.
  std::unordered_map<std::string, std::unique_ptr<metrics::Counter>> method_counts;
  std::array<metrics::Counter, 4> sessions_created;  // by TransportKind
  metrics::Counter deadlines_exceeded;               // calls answered by their deadline
  metrics::Counter busy_pool, busy_caller;           // calls refused: which queue was full
  TransportMetrics transport;
  std::mutex sources_mu;
  std::vector<std::function<void(metrics::TextWriter&)>> metric_sources;

  using Method = bj::value (Impl::*)(const CallPtr&);
  struct MethodInfo {
    Method fn;
    bool on_pool;    // runs a user handler
    bool cacheable;  // modern: ttlMs/cacheScope
    bool mrtr;       // may answer input_required
  };
  std::unordered_map<std::string, MethodInfo> legacy_methods, modern_methods;
  std::unique_ptr<detail::TaskEngine> tasks;  // tasks (src/mcp/tasks.cpp)

  Impl(Server& s, const ServerOptions& o) : self(s), opt(o) {
    std::size_t n = o.worker_threads
                        ? o.worker_threads
                        : std::max<std::size_t>(2, std::thread::hardware_concurrency());
    pool = std::make_unique<WorkerPool>(WorkerPool::Limits{
        .threads = n,
        .max_queued = o.max_queued_calls,
        .max_queued_per_key = o.max_queued_per_caller,
        .max_running_per_key =
            o.max_running_per_caller ? o.max_running_per_caller : std::max<std::size_t>(1, n / 2)});
    legacy_methods = {
        {"initialize", {&Impl::m_initialize, false, false, false}},
        {"ping", {&Impl::m_ping, false, false, false}},
        {"logging/setLevel", {&Impl::m_set_level, false, false, false}},
        {"tools/list", {&Impl::m_tools_list, false, false, false}},
        {"tools/call", {&Impl::m_tools_call, true, false, false}},
        {"resources/list", {&Impl::m_resources_list, false, false, false}},
        {"resources/templates/list", {&Impl::m_templates_list, false, false, false}},
        {"resources/read", {&Impl::m_resources_read, true, false, false}},
        {"resources/subscribe", {&Impl::m_subscribe, false, false, false}},
        {"resources/unsubscribe", {&Impl::m_unsubscribe, false, false, false}},
        {"prompts/list", {&Impl::m_prompts_list, false, false, false}},
        {"prompts/get", {&Impl::m_prompts_get, true, false, false}},
        {"completion/complete", {&Impl::m_complete, true, false, false}},
        // tasks, 2025-11-25 experimental (src/mcp/tasks.cpp)
        {"tasks/get", {&Impl::m_tasks_get, false, false, false}},
        {"tasks/result", {&Impl::m_tasks_result, false, false, false}},
        {"tasks/list", {&Impl::m_tasks_list, false, false, false}},
        {"tasks/cancel", {&Impl::m_tasks_cancel, false, false, false}},
    };
    modern_methods = {
        {"server/discover", {&Impl::m_discover, false, true, false}},
        {"subscriptions/listen", {&Impl::m_listen, false, false, false}},
        {"tools/list", {&Impl::m_tools_list, false, true, false}},
        {"tools/call", {&Impl::m_tools_call, true, false, true}},
        {"resources/list", {&Impl::m_resources_list, false, true, false}},
        {"resources/templates/list", {&Impl::m_templates_list, false, true, false}},
        {"resources/read", {&Impl::m_resources_read, true, true, true}},
        {"prompts/list", {&Impl::m_prompts_list, false, true, false}},
        {"prompts/get", {&Impl::m_prompts_get, true, false, true}},
        {"completion/complete", {&Impl::m_complete, true, false, false}},
        // tasks, extension io.modelcontextprotocol/tasks (src/mcp/tasks.cpp)
        {"tasks/get", {&Impl::m_tasks_get, false, false, false}},
        {"tasks/update", {&Impl::m_tasks_update, false, false, false}},
        {"tasks/cancel", {&Impl::m_tasks_cancel, false, false, false}},
    };
    tasks = std::make_unique<detail::TaskEngine>(
        o.tasks,
        detail::TaskEngine::Hooks{
            .respond =
                [this](const CallPtr& c, bj::value r) {
                  if (c->era == Era::kModern && r.is_object())
                    decorate_modern(r.as_object(), false, c->principal.has_value());
                  finish(c, result_text(c->id, r), 200);
                },
            .respond_error = [this](const CallPtr& c, int code, std::string_view msg,
                                    const bj::value& data) { finish_error(c, code, msg, data); }});
    for (auto* table : {&legacy_methods, &modern_methods})
      for (const auto& kv : *table)
        method_counts.try_emplace(kv.first, std::make_unique<metrics::Counter>());
    method_counts.try_emplace("other", std::make_unique<metrics::Counter>());
  }

  void count_request(const std::string& method) {
    auto it = method_counts.find(method);
    if (it == method_counts.end()) it = method_counts.find("other");
    it->second->inc();
  }

  static const char* transport_label(TransportKind k) {
    switch (k) {
      case TransportKind::kStdio:
        return "stdio";
      case TransportKind::kStreamableHttp:
        return "streamable_http";
      case TransportKind::kLegacySse:
        return "sse";
      case TransportKind::kInMemory:
        return "in_memory";
    }
    return "other";
  }

  void write_metrics(metrics::TextWriter& w) {
    w.family("mcp_requests_total", "counter", "JSON-RPC requests received, by method.");
    {
      std::map<std::string_view, std::uint64_t> sorted;
      for (const auto& [m, c] : method_counts) sorted[m] = c->value();
      for (const auto& [m, v] : sorted) w.sample("mcp_requests_total", {{"method", m}}, v);
    }
    std::vector<std::pair<std::string, std::shared_ptr<ToolCounters>>> tc;
    {
      std::shared_lock lk(reg_mu);
      tc.assign(tool_counters.begin(), tool_counters.end());
    }
    w.family("mcp_tool_calls_total", "counter",
             "tools/call requests by tool and outcome (ok, tool_error = isError result, "
             "protocol_error = JSON-RPC error, input_required = MRTR round).");
    for (const auto& [name, c] : tc) {
      w.sample("mcp_tool_calls_total", {{"tool", name}, {"outcome", "ok"}}, c->ok.value());
      w.sample("mcp_tool_calls_total", {{"tool", name}, {"outcome", "tool_error"}},
               c->tool_error.value());
      w.sample("mcp_tool_calls_total", {{"tool", name}, {"outcome", "protocol_error"}},
               c->protocol_error.value());
      w.sample("mcp_tool_calls_total", {{"tool", name}, {"outcome", "input_required"}},
               c->input_required.value());
    }
    w.family("mcp_tool_call_duration_seconds", "histogram",
             "Time spent in tool handlers (including argument checks), by tool.");
    for (const auto& [name, c] : tc)
      w.histogram("mcp_tool_call_duration_seconds", {{"tool", name}}, c->duration);

    std::array<std::int64_t, 4> active{};
    {
      std::lock_guard lk(sess_mu);
      for (auto& ws : sessions)
        if (auto sp = ws.lock()) ++active[static_cast<std::size_t>(sp->kind())];
    }
    static constexpr TransportKind kKinds[] = {
        TransportKind::kStdio, TransportKind::kStreamableHttp, TransportKind::kLegacySse};
    w.family("mcp_sessions_active", "gauge", "Sessions currently open, by transport.");
    for (auto k : kKinds)
      w.sample("mcp_sessions_active", {{"transport", transport_label(k)}},
               active[static_cast<std::size_t>(k)]);
    w.family("mcp_sessions_created_total", "counter", "Sessions opened, by transport.");
    for (auto k : kKinds)
      w.sample("mcp_sessions_created_total", {{"transport", transport_label(k)}},
               sessions_created[static_cast<std::size_t>(k)].value());
    w.family("mcp_calls_deadline_exceeded_total", "counter",
             "Calls answered by their deadline (ServerOptions::call_timeout) and cancelled.");
    w.sample("mcp_calls_deadline_exceeded_total", {}, deadlines_exceeded.value());
    w.family("mcp_calls_busy_total", "counter",
             "Calls refused with \"Server busy\", by the queue that was full (server = all "
             "callers' queue, caller = the caller's own).");
    w.sample("mcp_calls_busy_total", {{"queue", "server"}}, busy_pool.value());
    w.sample("mcp_calls_busy_total", {{"queue", "caller"}}, busy_caller.value());
    w.family("mcp_sessions_expired_total", "counter",
             "Legacy HTTP sessions dropped after being idle longer than their TTL, or not "
             "initialised in time.");
    w.sample("mcp_sessions_expired_total", {}, transport.sessions_expired());
    w.family("mcp_http_responses_total", "counter",
             "HTTP responses sent, by status code (an SSE stream counts once, as 200).");
    for (int code = 100; code < 600; ++code)
      if (auto v = transport.http_responses(code))
        w.sample("mcp_http_responses_total", {{"code", std::to_string(code)}}, v);
  }

  // --- tasks (src/mcp/tasks.cpp) ----------------------------------------------------------------
  bool has_task_tools() const {
    return std::any_of(tools.begin(), tools.end(), [](const auto& t) {
      return t->spec.task_support != TaskSupport::kForbidden;
    });
  }
  bj::value m_tasks_get(const CallPtr& c) {
    return c->era == Era::kModern ? tasks->modern_get(c) : tasks->legacy_get(c);
  }
  bj::value m_tasks_update(const CallPtr& c) { return tasks->modern_update(c); }
  bj::value m_tasks_cancel(const CallPtr& c) {
    return c->era == Era::kModern ? tasks->modern_cancel(c) : tasks->legacy_cancel(c);
  }
  bj::value m_tasks_result(const CallPtr& c) { return tasks->legacy_result(c); }
  bj::value m_tasks_list(const CallPtr& c) { return tasks->legacy_list(c); }

  bool has_resources() const { return !resources.empty() || !templates.empty(); }

  bj::object capabilities(Era era) const {
    std::shared_lock lk(reg_mu);
    bj::object caps;
    bj::object t;
    if (opt.list_changed) t["listChanged"] = true;
    caps["tools"] = std::move(t);
    if (has_resources()) {
      bj::object r;
      if (opt.resource_subscriptions) r["subscribe"] = true;
      if (opt.list_changed) r["listChanged"] = true;
      caps["resources"] = std::move(r);
    }
    if (!prompts.empty()) {
      bj::object p;
      if (opt.list_changed) p["listChanged"] = true;
      caps["prompts"] = std::move(p);
    }
    if (opt.logging) caps["logging"] = bj::object{};
    if (opt.completions && completion) caps["completions"] = bj::object{};
    if (has_task_tools()) {  // tasks (src/mcp/tasks.cpp)
      if (era == Era::kModern)
        caps["extensions"] = bj::object{{detail::kTasksExtension, bj::object{}}};
      else
        caps["tasks"] =
            bj::object{{"list", bj::object{}},
                       {"cancel", bj::object{}},
                       {"requests", bj::object{{"tools", bj::object{{"call", bj::object{}}}}}}};
    }
    return caps;
  }

  // --- responses ------------------------------------------------------------------------------
  static std::string result_text(const bj::value& id, const bj::value& result) {
    std::string s = "{\"jsonrpc\":\"2.0\",\"id\":";
    jsonio::write(id, s);
    s += ",\"result\":";
    jsonio::write(result, s);
    s += '}';
    return s;
  }

  void finish(const CallPtr& c, std::string text, int status) {
    if (c->done.exchange(true)) return;
    if (c->deadline) deadlines.cancel(*c->deadline);
    if (!c->session->stateless()) {
      std::lock_guard lk(c->session->mu_);
      auto it = c->session->in_flight_.find(c->id_key);
      if (it != c->session->in_flight_.end() && it->second.lock() == c)
        c->session->in_flight_.erase(it);
    }
    if (c->suppressed.load()) {
      c->out->abandon();
      return;
    }
    c->out->respond(std::move(text), status);
  }

  void finish_error(const CallPtr& c, int code, std::string_view message,
                    const bj::value& data = nullptr) {
    int status = c->era == Era::kModern ? modern_http_status(code) : 200;
    finish(c, Server::error_response(c->id, code, message, data), status);
  }

  void decorate_modern(bj::object& r, bool cacheable, bool authenticated) const {
    if (!r.contains("resultType")) r["resultType"] = "complete";
    bj::object meta;
    if (auto it = r.find("_meta"); it != r.end() && it->value().is_object())
      meta = it->value().get_object();
    meta[kMetaServerInfo] = bj::object{{"name", opt.info.name}, {"version", opt.info.version}};
    r["_meta"] = std::move(meta);
    if (cacheable) {
      if (!r.contains("ttlMs")) r["ttlMs"] = std::max<std::int64_t>(0, opt.cache_ttl_ms);
      if (!r.contains("cacheScope"))
        r["cacheScope"] = opt.cache_scope == "private" || (opt.cache_scope.empty() && authenticated)
                              ? "private"
                              : "public";
    }
  }

  void run(const CallPtr& c, const MethodInfo& mi) {
    try {
      bj::value result = (this->*mi.fn)(c);
      if (result.is_null()) return;  // the method keeps the request open (subscriptions/listen)
      if (c->era == Era::kModern && result.is_object())
        decorate_modern(result.as_object(), mi.cacheable, c->principal.has_value());
      finish(c, result_text(c->id, result), 200);
    } catch (const InputRequiredSignal& sig) {
      if (c->era != Era::kModern || !mi.mrtr) {
        finish_error(c, error_code::kInternalError,
                     "The handler needs client input, which this request cannot carry");
        return;
      }
      bj::object r{{"resultType", "input_required"}, {"inputRequests", sig.input_requests}};
      r["requestState"] = sign_state(c, sig.request_state);
      decorate_modern(r, false, c->principal.has_value());
      finish(c, result_text(c->id, r), 200);
    } catch (const ResourceNotFound& e) {
      if (c->era == Era::kModern)
        finish_error(c, error_code::kInvalidParams, "Resource not found",
                     bj::object{{"uri", e.uri()}});
      else
        finish_error(c, error_code::kResourceNotFound, "Resource not found",
                     bj::object{{"uri", e.uri()}});
    } catch (const Error& e) {
      finish_error(c, e.code(), e.what(), e.data());
    } catch (const std::exception& e) {
      spdlog::error("mcp: {} failed: {}", c->method, e.what());
      finish_error(c, error_code::kInternalError, kInternalErrorText);
    } catch (...) {
      spdlog::error("mcp: {} failed with an exception that is not a std::exception", c->method);
      finish_error(c, error_code::kInternalError, kInternalErrorText);
    }
  }

  // The call's deadline passed (ServerOptions::call_timeout): answer now, then cancel it, so
  // that what the handler returns afterwards is dropped (finish() answers once).
  void expire(const CallPtr& c) {
    if (c->done.load() || c->detached.load()) return;
    const std::string text = "The request exceeded its deadline of " +
                             seconds_text(opt.call_timeout) + " and was cancelled";
    if (c->method == "tools/call") {
      // A tool result with isError, not a JSON-RPC error: the spec reserves protocol errors
      // for requests the server cannot take (unknown tool, malformed request) and reports
      // failures of the tool's execution in the result, where the model sees them and can
      // adjust (ask for less, or use a task).
      bj::value r = CallToolResult::error(text).to_json();
      if (c->era == Era::kModern) decorate_modern(r.as_object(), false, c->principal.has_value());
      finish(c, result_text(c->id, r), 200);
    } else {
      finish_error(c, error_code::kInternalError, text);
    }
    deadlines_exceeded.inc();
    c->token.cancel();
  }

  // --- MRTR request state ---------------------------------------------------------------------
  std::string state_subject(const CallPtr& c) const {
    std::string subject = c->method + "\n";
    if (auto* n = get_string(c->params, "name"))
      subject += std::string(*n);
    else if (auto* u = get_string(c->params, "uri"))
      subject += std::string(*u);
    return subject;
  }

  std::string sign_state(const CallPtr& c, const std::string& state) const {
    auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch() + opt.request_state_ttl)
                   .count();
    bj::object p{{"b", state_subject(c)}, {"s", state}, {"e", exp}};
    std::string payload = crypto::base64url_encode(jsonio::to_string(p));
    return "v1." + payload + "." + crypto::base64url_encode(crypto::hmac_sha256(hmac_key, payload));
  }

  // Returns false when the state is forged, altered, expired or for another request.
  bool verify_state(const CallPtr& c, std::string_view token, std::string& state) const {
    if (token.substr(0, 3) != "v1.") return false;
    token.remove_prefix(3);
    auto dot = token.find('.');
    if (dot == std::string_view::npos) return false;
    std::string_view payload = token.substr(0, dot);
    std::string mac;
    if (!crypto::base64url_decode(token.substr(dot + 1), mac)) return false;
    if (!crypto::equal_ct(mac, crypto::hmac_sha256(hmac_key, payload))) return false;
    std::string raw;
    if (!crypto::base64url_decode(payload, raw)) return false;
    std::error_code ec;
    bj::value v = jsonio::parse(raw, ec);
    if (ec || !v.is_object()) return false;
    const auto& o = v.get_object();
    auto* b = get_string(o, "b");
    auto* s = get_string(o, "s");
    auto e = o.find("e");
    if (!b || !s || e == o.end() || !e->value().is_int64()) return false;
    if (*b != state_subject(c)) return false;
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    if (e->value().get_int64() < now) return false;
    state = std::string(*s);
    return true;
  }

  // --- pagination -------------------------------------------------------------------------------
  template <class Vec, class F>
  bj::object page(const CallPtr& c, const Vec& items, const char* key, F&& to_json) const {
    std::size_t start = 0;
    if (auto it = c->params.find("cursor"); it != c->params.end() && !it->value().is_null()) {
      const bj::string* cur = it->value().if_string();
      std::string s = cur ? std::string(*cur) : std::string();
      char* end = nullptr;
      unsigned long long v = s.empty() ? 0 : std::strtoull(s.c_str(), &end, 10);
      if (s.empty() || *end != '\0' || v > items.size())
        throw Error(error_code::kInvalidParams, "Invalid cursor");
      start = v;
    }
    std::size_t n = opt.page_size ? opt.page_size : items.size();
    bj::array a;
    std::size_t i = start;
    for (; i < items.size() && a.size() < n; ++i) a.push_back(to_json(*items[i]));
    bj::object r{{key, std::move(a)}};
    if (i < items.size()) r["nextCursor"] = std::to_string(i);
    return r;
  }

  // --- methods ----------------------------------------------------------------------------------
  bj::value m_initialize(const CallPtr& c) {
    std::string requested = str(get_string(c->params, "protocolVersion"));
    std::string chosen =
        is_legacy_version(requested) ? requested : std::string(kLatestLegacyVersion);
    {
      std::lock_guard lk(c->session->mu_);
      c->session->protocol_version_ = chosen;
      if (auto* caps = get_object(c->params, "capabilities"))
        c->session->client_capabilities_ = *caps;
      if (auto* ci = get_object(c->params, "clientInfo")) c->session->client_info_ = *ci;
    }
    bj::object r{{"protocolVersion", chosen},
                 {"capabilities", capabilities(Era::kLegacy)},
                 {"serverInfo", opt.info.to_json()}};
    if (!opt.instructions.empty()) r["instructions"] = opt.instructions;
    return r;
  }

  bj::value m_ping(const CallPtr&) { return bj::object{}; }

  bj::value m_set_level(const CallPtr& c) {
    auto lvl = parse_log_level(str(get_string(c->params, "level")));
    if (!lvl) throw Error(error_code::kInvalidParams, "Invalid log level");
    c->session->log_level_.store(static_cast<int>(*lvl));
    return bj::object{};
  }

  bj::value m_discover(const CallPtr&) {
    bj::array versions;
    for (const auto& v : modern_versions()) versions.emplace_back(v);
    for (const auto& v : legacy_versions()) versions.emplace_back(v);
    bj::object r{{"supportedVersions", std::move(versions)},
                 {"capabilities", capabilities(Era::kModern)}};
    if (!opt.instructions.empty()) r["instructions"] = opt.instructions;
    return r;
  }

  bj::value m_tools_list(const CallPtr& c) {
    std::shared_lock lk(reg_mu);
    return page(c, tools, "tools", [](const ToolEntry& t) { return t.listed; });
  }

  bj::value m_tools_call(const CallPtr& c) {
    auto* name = get_string(c->params, "name");
    if (!name) throw Error(error_code::kInvalidParams, "tools/call: params.name must be a string");
    std::shared_ptr<ToolEntry> t;
    {
      std::shared_lock lk(reg_mu);
      auto it = tool_index.find(std::string(*name));
      if (it != tool_index.end()) t = it->second;
    }
    if (!t) throw Error(error_code::kInvalidParams, "Unknown tool: " + std::string(*name));
    ToolCounters& tc = *t->counters;
    const auto started = std::chrono::steady_clock::now();
    struct Timer {
      ToolCounters& tc;
      std::chrono::steady_clock::time_point t0;
      ~Timer() {
        tc.duration.observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    } timer{tc, started};
    try {
      bj::value r = call_tool(c, *t);
      if (const bj::object* o = r.if_object()) {
        auto e = o->find("isError");
        (e != o->end() && e->value() == true ? tc.tool_error : tc.ok).inc();
      }
      return r;
    } catch (const InputRequiredSignal&) {
      tc.input_required.inc();
      throw;
    } catch (...) {
      tc.protocol_error.inc();
      throw;
    }
  }

  bj::value call_tool(const CallPtr& c, const ToolEntry& te) {
    const ToolEntry* t = &te;
    bj::value args = bj::object{};
    if (auto it = c->params.find("arguments"); it != c->params.end() && !it->value().is_null()) {
      if (!it->value().is_object())
        throw Error(error_code::kInvalidParams, "tools/call: arguments must be an object");
      args = it->value();
    }
    if (t->validate && !t->spec.input_schema.is_null()) {
      std::string err = validate(t->spec.input_schema, args);
      if (!err.empty()) return CallToolResult::error("Invalid arguments: " + err).to_json();
    }
    // tasks (src/mcp/tasks.cpp): a task-capable tool may answer with a task instead.
    if (auto tr =
            tasks->tool_call(c, t->spec, [t, args](ToolContext& x) { return t->fn(args, x); }))
      return std::move(*tr);
    ToolContext ctx(c);
    CallToolResult r;
    try {
      r = t->fn(args, ctx);
    } catch (const Error&) {
      throw;
    } catch (const InputRequiredSignal&) {
      throw;
    } catch (const std::exception& e) {
      spdlog::error("mcp: tool {} failed: {}", t->spec.name, e.what());
      r = CallToolResult::error(std::string(kInternalErrorText));
    }
    return r.to_json();
  }

  bj::value m_resources_list(const CallPtr& c) {
    std::shared_lock lk(reg_mu);
    if (!has_resources())
      throw Error(error_code::kMethodNotFound, "Method not found: resources/list");
    return page(c, resources, "resources", [](const ResourceEntry& r) { return r.spec.to_json(); });
  }

  bj::value m_templates_list(const CallPtr& c) {
    std::shared_lock lk(reg_mu);
    if (!has_resources())
      throw Error(error_code::kMethodNotFound, "Method not found: resources/templates/list");
    return page(c, templates, "resourceTemplates",
                [](const TemplateEntry& t) { return t.spec.to_json(); });
  }

  bj::value m_resources_read(const CallPtr& c) {
    auto* uri = get_string(c->params, "uri");
    if (!uri)
      throw Error(error_code::kInvalidParams, "resources/read: params.uri must be a string");
    std::string u(*uri);
    std::shared_ptr<ResourceEntry> res;
    std::shared_ptr<TemplateEntry> tmpl;
    std::map<std::string, std::string> vars;
    {
      std::shared_lock lk(reg_mu);
      for (auto& r : resources)
        if (r->spec.uri == u) {
          res = r;
          break;
        }
      if (!res)
        for (auto& t : templates)
          if (auto m = match_uri_template(t->spec.uri_template, u)) {
            tmpl = t;
            vars = std::move(*m);
            break;
          }
    }
    ToolContext ctx(c);
    ReadResourceResult r;
    if (res)
      r = res->fn(u, ctx);
    else if (tmpl)
      r = tmpl->fn(u, vars, ctx);
    else
      throw ResourceNotFound(u);
    if (r.contents.empty()) throw ResourceNotFound(u);  // the spec forbids empty contents
    return r.to_json();
  }

  bool may_subscribe(const CallPtr& c, const std::string& uri) {
    SubscribeCheck check;
    {
      std::shared_lock lk(reg_mu);
      check = subscribe_check;
    }
    if (!check) return true;
    ToolContext ctx(c);
    return check(uri, ctx);
  }

  bj::value m_subscribe(const CallPtr& c) {
    auto* uri = get_string(c->params, "uri");
    if (!uri)
      throw Error(error_code::kInvalidParams, "resources/subscribe: params.uri must be a string");
    std::string u(*uri);
    if (!may_subscribe(c, u)) throw ResourceNotFound(u);
    std::lock_guard lk(c->session->mu_);
    c->session->subscriptions_.insert(std::move(u));
    if (c->principal) c->session->subscriber_principal_ = c->principal;
    return bj::object{};
  }

  bj::value m_unsubscribe(const CallPtr& c) {
    auto* uri = get_string(c->params, "uri");
    if (!uri)
      throw Error(error_code::kInvalidParams, "resources/unsubscribe: params.uri must be a string");
    std::lock_guard lk(c->session->mu_);
    c->session->subscriptions_.erase(std::string(*uri));
    return bj::object{};
  }

  bj::value m_prompts_list(const CallPtr& c) {
    std::shared_lock lk(reg_mu);
    if (prompts.empty()) throw Error(error_code::kMethodNotFound, "Method not found: prompts/list");
    return page(c, prompts, "prompts", [](const PromptEntry& p) { return p.spec.to_json(); });
  }

  bj::value m_prompts_get(const CallPtr& c) {
    auto* name = get_string(c->params, "name");
    if (!name) throw Error(error_code::kInvalidParams, "prompts/get: params.name must be a string");
    std::shared_ptr<PromptEntry> p;
    {
      std::shared_lock lk(reg_mu);
      for (auto& e : prompts)
        if (e->spec.name == *name) p = e;
    }
    if (!p) throw Error(error_code::kInvalidParams, "Unknown prompt: " + std::string(*name));
    std::map<std::string, std::string> args;
    if (auto* a = get_object(c->params, "arguments"))
      for (const auto& kv : *a) {
        if (!kv.value().is_string())
          throw Error(error_code::kInvalidParams, "prompts/get: argument values must be strings");
        args[std::string(kv.key())] = std::string(kv.value().get_string());
      }
    for (const auto& a : p->spec.arguments)
      if (a.required && !args.count(a.name))
        throw Error(error_code::kInvalidParams, "Missing required argument: " + a.name);
    ToolContext ctx(c);
    return p->fn(args, ctx).to_json();
  }

  bj::value m_complete(const CallPtr& c) {
    CompletionHandler h;
    {
      std::shared_lock lk(reg_mu);
      h = completion;
    }
    if (!h) throw Error(error_code::kMethodNotFound, "Method not found: completion/complete");
    auto* ref = get_object(c->params, "ref");
    auto* arg = get_object(c->params, "argument");
    if (!ref || !arg)
      throw Error(error_code::kInvalidParams, "completion/complete: ref and argument are required");
    std::map<std::string, std::string> ctx_args;
    if (auto* cx = get_object(c->params, "context"))
      if (auto* a = get_object(*cx, "arguments"))
        for (const auto& kv : *a)
          if (kv.value().is_string())
            ctx_args[std::string(kv.key())] = std::string(kv.value().get_string());
    ToolContext ctx(c);
    return h(*ref, str(get_string(*arg, "name")), str(get_string(*arg, "value")), ctx_args, ctx)
        .to_json();
  }

  bj::value m_listen(const CallPtr& c) {
    const bj::object* n = get_object(c->params, "notifications");
    Listener l;
    l.session = c->session;
    l.out = c->out;
    l.id = c->id;
    l.principal = c->principal;
    bj::object accepted;
    auto flag = [&](const char* k) {
      if (!n) return false;
      auto it = n->find(k);
      return it != n->end() && it->value().is_bool() && it->value().get_bool();
    };
    if (opt.list_changed && flag("toolsListChanged")) accepted["toolsListChanged"] = l.tools = true;
    if (opt.list_changed && flag("promptsListChanged"))
      accepted["promptsListChanged"] = l.prompts = true;
    if (opt.list_changed && flag("resourcesListChanged"))
      accepted["resourcesListChanged"] = l.resources = true;
    if (opt.resource_subscriptions && n)
      if (auto it = n->find("resourceSubscriptions"); it != n->end() && it->value().is_array()) {
        bj::array uris;
        for (const auto& u : it->value().get_array())
          if (u.is_string() && may_subscribe(c, std::string(u.get_string()))) {
            l.uris.insert(std::string(u.get_string()));
            uris.push_back(u);
          }
        accepted["resourceSubscriptions"] = std::move(uris);
      }
    // Registered before the acknowledgement, so a client that saw it misses nothing.
    {
      std::lock_guard lk(sess_mu);
      listeners.push_back(std::move(l));
    }
    bj::object params{{"notifications", accepted},
                      {"_meta", bj::object{{kMetaSubscriptionId, c->id}}}};
    c->out->send(
        jsonio::to_string(bj::object{{"jsonrpc", "2.0"},
                                     {"method", "notifications/subscriptions/acknowledged"},
                                     {"params", std::move(params)}}));
    // When the client cancels the listen request, drop the listener.
    std::weak_ptr<Outbound> wout = c->out;
    c->token.on_cancel([this, wout] {
      std::lock_guard lk(sess_mu);
      auto o = wout.lock();
      std::erase_if(listeners, [&](const Listener& x) { return !o || x.out == o; });
    });
    return nullptr;
  }

  // --- broadcasts -------------------------------------------------------------------------------
  void broadcast(const std::string& method, bj::object params, bool (*wants)(const Listener&),
                 const std::string* uri, const SubscriberFilter* filter = nullptr) {
    std::vector<std::shared_ptr<Session>> targets;
    struct ListenTarget {
      std::shared_ptr<Outbound> out;
      bj::value id;
      Subscriber who;
    };
    std::vector<ListenTarget> lt;
    {
      std::lock_guard lk(sess_mu);
      std::erase_if(sessions, [](const std::weak_ptr<Session>& w) { return w.expired(); });
      for (auto& w : sessions)
        if (auto s = w.lock()) targets.push_back(s);
      std::erase_if(listeners,
                    [](const Listener& l) { return !l.out->is_open() || l.session.expired(); });
      for (auto& l : listeners)
        if (uri ? l.uris.count(*uri) > 0 : wants(l)) {
          Subscriber who;
          if (auto sp = l.session.lock()) {
            who.session_id = sp->stateless() ? std::string() : sp->id();
            who.transport = sp->kind();
          }
          who.principal = l.principal;
          who.era = Era::kModern;
          lt.push_back({l.out, l.id, std::move(who)});
        }
    }
    std::string legacy_text =
        jsonio::to_string(bj::object{{"jsonrpc", "2.0"}, {"method", method}, {"params", params}});
    for (auto& s : targets) {
      if (!s->initialized()) continue;
      if (uri && !s->subscribed(*uri)) continue;
      auto out = s->standalone();
      if (!out) continue;
      if (filter) {
        Subscriber who;
        who.session_id = s->id();
        who.transport = s->kind();
        who.era = Era::kLegacy;
        {
          std::lock_guard lk(s->mu_);
          who.principal = s->subscriber_principal_;
        }
        if (!(*filter)(who)) continue;
      }
      out->send(legacy_text);
    }
    for (auto& [out, id, who] : lt) {
      if (filter && !(*filter)(who)) continue;
      bj::object p = params;
      p["_meta"] = bj::object{{kMetaSubscriptionId, id}};
      out->send(jsonio::to_string(
          bj::object{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(p)}}));
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Server

Server::Server(ServerOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(*this, options_)) {}

Server::~Server() {
  shutdown();
}

void Server::shutdown() {
  if (impl_ && impl_->tasks) impl_->tasks->shutdown();  // tasks (src/mcp/tasks.cpp) end first
  if (impl_ && impl_->pool) impl_->pool->stop();
  if (impl_) impl_->deadlines.stop();
}

bool Server::wait_idle(std::chrono::milliseconds timeout) {
  return impl_->pool->wait_idle(timeout);
}

void Server::add_tool(ToolSpec spec, ToolHandler fn, bool validate_with_schema) {
  auto e = std::make_shared<ToolEntry>();
  e->listed = spec.to_json();
  if (auto* sch = spec.input_schema.if_object())
    if (auto* props = sch->if_contains("properties"); props && props->is_object())
      for (const auto& kv : props->get_object())
        if (auto* po = kv.value().if_object())
          if (auto* h = po->if_contains("x-mcp-header"); h && h->is_string())
            e->header_params.emplace_back(std::string(kv.key()), std::string(h->get_string()));
  e->spec = std::move(spec);
  e->fn = std::move(fn);
  e->validate = validate_with_schema;
  std::unique_lock lk(impl_->reg_mu);
  auto& counters = impl_->tool_counters[e->spec.name];
  if (!counters) counters = std::make_shared<ToolCounters>();
  e->counters = counters;
  auto it = impl_->tool_index.find(e->spec.name);
  if (it != impl_->tool_index.end()) {
    std::replace(impl_->tools.begin(), impl_->tools.end(), it->second, e);
    it->second = e;
  } else {
    impl_->tools.push_back(e);
    impl_->tool_index.emplace(e->spec.name, e);
  }
}

std::vector<std::pair<std::string, std::string>> Server::tool_header_params(
    const std::string& name) const {
  std::shared_lock lk(impl_->reg_mu);
  auto it = impl_->tool_index.find(name);
  if (it == impl_->tool_index.end()) return {};
  return it->second->header_params;
}

bool Server::remove_tool(const std::string& name) {
  std::unique_lock lk(impl_->reg_mu);
  auto it = impl_->tool_index.find(name);
  if (it == impl_->tool_index.end()) return false;
  std::erase(impl_->tools, it->second);
  impl_->tool_index.erase(it);
  return true;
}

void Server::resource(Resource spec, ResourceHandler fn) {
  std::unique_lock lk(impl_->reg_mu);
  std::erase_if(impl_->resources, [&](auto& r) { return r->spec.uri == spec.uri; });
  impl_->resources.push_back(
      std::make_shared<ResourceEntry>(ResourceEntry{std::move(spec), std::move(fn)}));
}

bool Server::remove_resource(const std::string& uri) {
  std::unique_lock lk(impl_->reg_mu);
  return std::erase_if(impl_->resources, [&](auto& r) { return r->spec.uri == uri; }) > 0;
}

void Server::resource_template(ResourceTemplate spec, TemplateHandler fn) {
  std::unique_lock lk(impl_->reg_mu);
  std::erase_if(impl_->templates,
                [&](auto& t) { return t->spec.uri_template == spec.uri_template; });
  impl_->templates.push_back(
      std::make_shared<TemplateEntry>(TemplateEntry{std::move(spec), std::move(fn)}));
}

void Server::prompt(PromptSpec spec, PromptHandler fn) {
  std::unique_lock lk(impl_->reg_mu);
  std::erase_if(impl_->prompts, [&](auto& p) { return p->spec.name == spec.name; });
  impl_->prompts.push_back(
      std::make_shared<PromptEntry>(PromptEntry{std::move(spec), std::move(fn)}));
}

bool Server::remove_prompt(const std::string& name) {
  std::unique_lock lk(impl_->reg_mu);
  return std::erase_if(impl_->prompts, [&](auto& p) { return p->spec.name == name; }) > 0;
}

void Server::completion(CompletionHandler fn) {
  std::unique_lock lk(impl_->reg_mu);
  impl_->completion = std::move(fn);
}

void Server::notify_tools_list_changed() {
  impl_->broadcast(
      "notifications/tools/list_changed", {}, [](const Listener& l) { return l.tools; }, nullptr);
}
void Server::notify_resources_list_changed() {
  impl_->broadcast(
      "notifications/resources/list_changed", {}, [](const Listener& l) { return l.resources; },
      nullptr);
}
void Server::notify_prompts_list_changed() {
  impl_->broadcast(
      "notifications/prompts/list_changed", {}, [](const Listener& l) { return l.prompts; },
      nullptr);
}
void Server::notify_resource_updated(const std::string& uri) {
  impl_->broadcast("notifications/resources/updated", bj::object{{"uri", uri}}, nullptr, &uri);
}
void Server::notify_resource_updated(const std::string& uri, const SubscriberFilter& filter) {
  impl_->broadcast("notifications/resources/updated", bj::object{{"uri", uri}}, nullptr, &uri,
                   filter ? &filter : nullptr);
}
void Server::set_subscribe_check(SubscribeCheck check) {
  std::unique_lock lk(impl_->reg_mu);
  impl_->subscribe_check = std::move(check);
}
std::vector<std::string> Server::subscribed_uris() const {
  std::set<std::string> all;
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lk(impl_->sess_mu);
    for (auto& w : impl_->sessions)
      if (auto s = w.lock()) live.push_back(s);
    for (auto& l : impl_->listeners)
      if (l.out->is_open()) all.insert(l.uris.begin(), l.uris.end());
  }
  for (auto& s : live) {
    std::lock_guard lk(s->mu_);
    all.insert(s->subscriptions_.begin(), s->subscriptions_.end());
  }
  return {all.begin(), all.end()};
}

std::string Server::metrics_text() const {
  metrics::TextWriter w;
  impl_->write_metrics(w);
  std::vector<std::function<void(metrics::TextWriter&)>> sources;
  {
    std::lock_guard lk(impl_->sources_mu);
    sources = impl_->metric_sources;
  }
  for (auto& src : sources) src(w);
  return w.take();
}
void Server::add_metrics_source(std::function<void(metrics::TextWriter&)> source) {
  std::lock_guard lk(impl_->sources_mu);
  impl_->metric_sources.push_back(std::move(source));
}
TransportMetrics& Server::transport_metrics() {
  return impl_->transport;
}

void Server::attach(const std::shared_ptr<Session>& s) {
  impl_->sessions_created[static_cast<std::size_t>(s->kind())].inc();
  std::lock_guard lk(impl_->sess_mu);
  impl_->sessions.push_back(s);
}

void Server::detach(const std::shared_ptr<Session>& s) {
  s->cancel_all();
  if (!s->stateless()) impl_->tasks->session_ended(*s);  // tasks (src/mcp/tasks.cpp)
  std::lock_guard lk(impl_->sess_mu);
  std::erase_if(impl_->sessions, [&](const std::weak_ptr<Session>& w) {
    auto p = w.lock();
    return !p || p == s;
  });
  std::erase_if(impl_->listeners, [&](const Listener& l) {
    auto p = l.session.lock();
    return !p || p == s;
  });
}

bool Server::is_modern_message(const json& m) {
  const bj::object* o = m.if_object();
  if (!o) return false;
  const bj::object* p = get_object(*o, "params");
  if (!p) return false;
  const bj::object* meta = get_object(*p, "_meta");
  return meta && meta->contains(kMetaVersion);
}

std::string Server::error_response(const json& id, int code, std::string_view message,
                                   const json& data) {
  bj::object err{{"code", code}, {"message", message}};
  if (!data.is_null()) err["data"] = data;
  std::string s = "{\"jsonrpc\":\"2.0\",\"id\":";
  jsonio::write(id, s);
  s += ",\"error\":";
  jsonio::write(err, s);
  s += '}';
  return s;
}

void Server::handle(const std::shared_ptr<Session>& session, json message,
                    const std::shared_ptr<Outbound>& out, const MessageInfo& info) {
  Impl& I = *impl_;
  auto invalid = [&](const json& id, std::string_view why) {
    out->respond(error_response(id, error_code::kInvalidRequest, why), 400);
  };
  if (message.is_array()) return invalid(nullptr, "Batch requests are not supported");
  bj::object* obj = message.if_object();
  if (!obj) return invalid(nullptr, "Invalid Request: expected a JSON-RPC object");

  auto id_it = obj->find("id");
  bool has_id = id_it != obj->end();
  json id = has_id ? id_it->value() : json(nullptr);
  bool id_ok = !has_id || id.is_string() || id.is_int64() || id.is_uint64();
  auto* ver = get_string(*obj, "jsonrpc");
  auto m_it = obj->find("method");

  if (m_it == obj->end()) {
    // A response from the client to one of our requests (legacy request_client).
    if (has_id && id_ok && (obj->contains("result") || obj->contains("error")) && ver &&
        *ver == "2.0") {
      std::shared_ptr<std::promise<bj::value>> p;
      {
        std::lock_guard lk(session->mu_);
        auto it = session->pending_.find(id_key(id));
        if (it != session->pending_.end()) {
          p = it->second;
          session->pending_.erase(it);
        }
      }
      if (p) p->set_value(std::move(message));
      out->accepted();
      return;
    }
    return invalid(id_ok ? id : json(nullptr), "Invalid Request: missing method");
  }
  if (!ver || *ver != "2.0")
    return invalid(id_ok ? id : json(nullptr), "Invalid Request: jsonrpc must be \"2.0\"");
  if (!id_ok || (has_id && id.is_null()))
    return invalid(nullptr, "Invalid Request: id must be a string or integer");
  if (!m_it->value().is_string()) return invalid(id, "Invalid Request: method must be a string");
  std::string method(m_it->value().get_string());

  bj::object params;
  if (auto p = obj->find("params"); p != obj->end() && !p->value().is_null()) {
    if (!p->value().is_object()) {
      if (!has_id) return out->accepted();
      out->respond(error_response(id, error_code::kInvalidParams,
                                  "Invalid params: params must be an object"),
                   400);
      return;
    }
    params = std::move(p->value().as_object());
  }

  if (!has_id) {  // notification: never answered
    if (method == "notifications/initialized") {
      session->initialized_.store(true);
    } else if (method == "notifications/cancelled") {
      if (auto r = params.find("requestId"); r != params.end() && !session->stateless()) {
        std::shared_ptr<CallState> c;
        {
          std::lock_guard lk(session->mu_);
          auto it = session->in_flight_.find(id_key(r->value()));
          if (it != session->in_flight_.end()) c = it->second.lock();
        }
        if (c && c->method != "initialize") {
          c->suppressed.store(c->method != "subscriptions/listen");
          c->token.cancel();
        }
      }
    }
    out->accepted();
    return;
  }

  I.count_request(method);
  auto c = std::make_shared<CallState>();
  c->server = &I;
  c->session = session;
  c->out = out;
  c->id = id;
  c->method = method;
  c->principal = info.principal;
  c->peer_address = info.peer_address;

  const bj::object* meta = get_object(params, "_meta");
  bool modern = info.modern_http || (meta && meta->contains(kMetaVersion));
  const Impl::MethodInfo* mi = nullptr;
  if (modern) {
    c->era = Era::kModern;
    const bj::string* v = meta ? get_string(*meta, kMetaVersion) : nullptr;
    const bj::object* caps = meta ? get_object(*meta, kMetaCaps) : nullptr;
    if (!meta || !v || !caps)
      return I.finish_error(
          c, error_code::kInvalidParams,
          "Invalid params: _meta must carry io.modelcontextprotocol/protocolVersion and "
          "io.modelcontextprotocol/clientCapabilities");
    if (info.protocol_version_header && *info.protocol_version_header != *v)
      return I.finish_error(
          c, error_code::kHeaderMismatch,
          "Header mismatch: MCP-Protocol-Version does not match _meta protocolVersion");
    if (!is_modern_version(*v)) {
      bj::array sup;
      for (const auto& s : modern_versions()) sup.emplace_back(s);
      return I.finish_error(c, error_code::kUnsupportedProtocolVersion,
                            "Unsupported protocol version",
                            bj::object{{"supported", std::move(sup)}, {"requested", *v}});
    }
    c->version = std::string(*v);
    c->client_caps = *caps;
    if (auto* lvl = get_string(*meta, kMetaLogLevel)) {
      auto l = parse_log_level(*lvl);
      c->log_threshold = l ? static_cast<int>(*l) : 100;
    } else {
      c->log_threshold = 100;  // no logLevel: no notifications/message for this request
    }
    auto it = I.modern_methods.find(method);
    if (it == I.modern_methods.end())
      return I.finish_error(c, error_code::kMethodNotFound, "Method not found: " + method);
    mi = &it->second;
  } else {
    c->era = Era::kLegacy;
    auto it = I.legacy_methods.find(method);
    if (it == I.legacy_methods.end())
      return I.finish_error(c, error_code::kMethodNotFound, "Method not found: " + method);
    mi = &it->second;
    if (method != "initialize") {
      std::lock_guard lk(session->mu_);
      c->version = session->protocol_version_.empty() ? "2025-03-26" : session->protocol_version_;
      c->client_caps = session->client_capabilities_;
    }
    c->log_threshold = session->log_level_.load();
  }
  if (meta) {
    c->meta = *meta;
    if (auto pt = meta->find("progressToken");
        pt != meta->end() &&
        (pt->value().is_string() || pt->value().is_int64() || pt->value().is_uint64()))
      c->progress_token = pt->value();
  }
  c->params = std::move(params);

  if (c->era == Era::kModern && mi->mrtr) {
    if (auto it = c->params.find("inputResponses");
        it != c->params.end() && !it->value().is_null()) {
      if (!it->value().is_object())
        return I.finish_error(c, error_code::kInvalidParams,
                              "Invalid params: inputResponses must be an object");
      c->input_responses = &it->value().get_object();
    }
    if (auto it = c->params.find("requestState"); it != c->params.end() && !it->value().is_null()) {
      if (!it->value().is_string() ||
          !I.verify_state(c, it->value().get_string(), c->request_state))
        return I.finish_error(c, error_code::kInvalidParams,
                              "Invalid params: requestState failed its integrity check");
    }
  }

  c->id_key = id_key(id);
  {
    std::weak_ptr<CallState> wc = c;
    out->on_peer_closed([wc] {
      if (auto call = wc.lock()) {
        if (call->detached.load()) return;  // a task now (src/mcp/tasks.cpp)
        call->suppressed.store(true);
        call->token.cancel();
      }
    });
  }
  if (!session->stateless()) {
    std::lock_guard lk(session->mu_);
    session->in_flight_[c->id_key] = c;
  }
  bool on_pool = mi->on_pool;
  if (!on_pool && (method == "resources/subscribe" || method == "subscriptions/listen")) {
    // The application's subscribe check may block (it may ask a database): keep it off the
    // transport thread. Without a check these stay cheap and are answered inline.
    std::shared_lock lk(I.reg_mu);
    on_pool = static_cast<bool>(I.subscribe_check);
  }
  if (!on_pool) {
    I.run(c, *mi);
    return;
  }
  // Calls are queued per caller and take turns (ServerOptions::max_running_per_caller).
  std::string caller;
  if (info.principal)
    caller = "principal:" + info.principal->subject;
  else if (!session->stateless())
    caller = "session:" + session->id();
  else
    caller = "peer:" + info.peer_address;
  const bool capped = session->kind() != TransportKind::kStdio;
  if (I.opt.call_timeout.count() > 0 && method != "subscriptions/listen") {
    std::weak_ptr<CallState> wc = c;
    I.deadlines.schedule(
        std::chrono::steady_clock::now() + I.opt.call_timeout,
        [&I, wc] {
          if (auto call = wc.lock()) I.expire(call);
        },
        c->deadline);
  }
  const Impl::MethodInfo info_copy = *mi;
  std::shared_ptr<WorkerPool::Ticket> ticket;
  auto submitted = I.pool->submit(
      caller,
      [c, &I, info_copy] {
        if (c->done.load()) return;  // answered by its deadline while it waited
        if (c->token.cancelled() && c->suppressed.load()) {
          I.finish(c, {}, 200);
          return;
        }
        I.run(c, info_copy);
      },
      capped, &ticket);
  switch (submitted) {
    case WorkerPool::Submitted::kQueued: {
      // A waiting call nobody wants any more (its client went away or cancelled it, or its
      // deadline answered it) leaves the queue at once, giving its caller's place back.
      std::weak_ptr<CallState> wc = c;
      c->token.on_cancel([&I, wc, ticket] {
        auto call = wc.lock();
        if (!call || !(call->done.load() || call->suppressed.load())) return;
        if (I.pool->withdraw(ticket)) I.finish(call, {}, 200);
      });
      break;
    }
    case WorkerPool::Submitted::kKeyFull:
      I.busy_caller.inc();
      I.finish_error(c, error_code::kInternalError,
                     "Server busy: too many queued requests from this caller");
      break;
    case WorkerPool::Submitted::kPoolFull:
    case WorkerPool::Submitted::kStopped:
      I.busy_pool.inc();
      I.finish_error(c, error_code::kInternalError, "Server busy: too many queued requests");
      break;
  }
}

// ---------------------------------------------------------------------------------------------
// ToolContext

const std::string& ToolContext::session_id() const {
  static const std::string empty;
  return s_->session->stateless() ? empty : s_->session->id();
}
const std::optional<Principal>& ToolContext::principal() const {
  return s_->principal;
}
Era ToolContext::era() const {
  return s_->era;
}
TransportKind ToolContext::transport() const {
  return s_->session->kind();
}
const std::string& ToolContext::peer_address() const {
  return s_->peer_address;
}
const std::string& ToolContext::protocol_version() const {
  return s_->version;
}
const bj::object& ToolContext::client_capabilities() const {
  return s_->client_caps;
}
bool ToolContext::client_supports(std::string_view cap) const {
  return s_->client_caps.contains(cap);
}
void ToolContext::require_client_capability(std::string_view cap) const {
  if (client_supports(cap)) return;
  bj::object req{{cap, bj::object{}}};
  if (s_->era == Era::kModern)
    throw Error(error_code::kMissingRequiredClientCapability,
                "Missing required client capability: " + std::string(cap),
                bj::object{{"requiredCapabilities", std::move(req)}});
  throw Error(error_code::kInvalidRequest, "Client does not support " + std::string(cap),
              bj::object{{"requiredCapabilities", std::move(req)}});
}
const bj::object& ToolContext::meta() const {
  return s_->meta;
}
const std::string& ToolContext::method() const {
  return s_->method;
}
bool ToolContext::has_progress_token() const {
  return !s_->progress_token.is_null();
}

void ToolContext::progress(double current, std::optional<double> total, std::string_view message) {
  if (s_->progress_token.is_null() || s_->done.load()) return;
  {
    std::lock_guard lk(s_->progress_mu);
    if (!(current > s_->last_progress)) return;
    s_->last_progress = current;
  }
  bj::object p{{"progressToken", s_->progress_token}, {"progress", current}};
  if (total) p["total"] = *total;
  if (!message.empty()) p["message"] = message;
  s_->out->send(jsonio::to_string(bj::object{
      {"jsonrpc", "2.0"}, {"method", "notifications/progress"}, {"params", std::move(p)}}));
}

void ToolContext::log(LogLevel level, json data, std::string_view logger) {
  if (s_->done.load()) return;
  int threshold = s_->era == Era::kModern ? s_->log_threshold : s_->session->log_level();
  if (threshold >= 0 && static_cast<int>(level) < threshold) return;
  bj::object p{{"level", to_string(level)}, {"data", std::move(data)}};
  if (!logger.empty()) p["logger"] = logger;
  s_->out->send(jsonio::to_string(bj::object{
      {"jsonrpc", "2.0"}, {"method", "notifications/message"}, {"params", std::move(p)}}));
}

void ToolContext::close_sse_stream() {
  s_->out->close_stream();
}
bool ToolContext::cancelled() const {
  return s_->token.cancelled();
}
CancellationToken& ToolContext::token() {
  return s_->token;
}

json ToolContext::request_client(std::string method, json params,
                                 std::chrono::milliseconds timeout) {
  if (s_->era == Era::kModern)
    throw Error(error_code::kInternalError,
                "Server-to-client requests do not exist in the 2026-07-28 era; use require_input");
  if (!s_->task_id.empty())  // tasks (src/mcp/tasks.cpp): the request was answered already
    throw Error(error_code::kInternalError,
                "Server-to-client requests are not available in a task");
  // The spec forbids these requests unless the client declared the matching capability.
  static const std::pair<const char*, const char*> kNeeds[] = {
      {"sampling/createMessage", "sampling"},
      {"elicitation/create", "elicitation"},
      {"roots/list", "roots"}};
  for (const auto& [m, cap] : kNeeds)
    if (method == m && !client_supports(cap))
      throw Error(error_code::kInvalidRequest,
                  std::string("The client did not declare the ") + cap + " capability",
                  bj::object{{"requiredCapabilities", bj::object{{cap, bj::object{}}}}});
  auto& sess = *s_->session;
  std::string rid = "srv-" + std::to_string(sess.next_request_id_.fetch_add(1));
  auto p = std::make_shared<std::promise<bj::value>>();
  auto fut = p->get_future();
  {
    std::lock_guard lk(sess.mu_);
    sess.pending_[id_key(bj::value(rid))] = p;
  }
  bj::object req{{"jsonrpc", "2.0"}, {"id", rid}, {"method", method}};
  if (!params.is_null()) req["params"] = std::move(params);
  auto cleanup = [&] {
    std::lock_guard lk(sess.mu_);
    sess.pending_.erase(id_key(bj::value(rid)));
  };
  if (!s_->out->send(jsonio::to_string(req))) {
    cleanup();
    throw Error(error_code::kInternalError, "Client connection closed");
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (fut.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (s_->token.cancelled() || std::chrono::steady_clock::now() > deadline) {
      cleanup();
      throw Error(error_code::kInternalError, s_->token.cancelled()
                                                  ? "Request cancelled"
                                                  : "Client request timed out: " + method);
    }
  }
  bj::value resp = fut.get();
  const bj::object& o = resp.as_object();
  if (auto e = get_object(o, "error")) {
    auto code = e->find("code");
    throw Error(
        code != e->end() && code->value().is_int64() ? static_cast<int>(code->value().get_int64())
                                                     : error_code::kInternalError,
        str(get_string(*e, "message")), e->contains("data") ? e->at("data") : json(nullptr));
  }
  auto r = o.find("result");
  return r == o.end() ? json(bj::object{}) : r->value();
}

const bj::object* ToolContext::input_responses() const {
  return s_->input_responses;
}
const json* ToolContext::input_response(std::string_view key) const {
  if (!s_->input_responses) return nullptr;
  auto it = s_->input_responses->find(key);
  return it == s_->input_responses->end() ? nullptr : &it->value();
}
const std::string& ToolContext::request_state() const {
  return s_->request_state;
}
void ToolContext::require_input(bj::object requests, std::string state) {
  throw InputRequiredSignal{std::move(requests), std::move(state)};
}

}  // namespace mcp
