// The dispatcher: JSON-RPC validation, the era of each message, the method tables of both eras,
// the worker pool (calls queued per caller, taking turns), call deadlines, and the answers
// (result decoration, errors, cancellation).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "jsonio/json_text.hpp"
#include "mcp/trace_scope.hpp"
#include "server_impl.hpp"
#include "session_state.hpp"

namespace mcp {

namespace bj = boost::json;
using detail::CallPtr;
using detail::CallState;
using detail::member_object;
using detail::member_string;
using refcache_sync::Lock;

namespace detail {

std::string id_key(const bj::value& id) {
  return jsonio::to_string(id);
}

}  // namespace detail

namespace {

// The HTTP status of a 2026-07-28 error answer.
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

std::vector<std::string> method_names(
    const std::unordered_map<std::string, Server::Impl::MethodInfo>& a,
    const std::unordered_map<std::string, Server::Impl::MethodInfo>& b) {
  std::vector<std::string> names;
  for (const auto* table : {&a, &b})
    for (const auto& kv : *table) names.push_back(kv.first);
  return names;
}

// The span of a request: a child of the trace context it carries (params._meta first, the
// SEP-414 convention, then the HTTP headers), or a new trace. An invalid traceparent counts as
// none.
TraceContext request_trace(const bj::object* meta, const MessageInfo& info) {
  if (meta) {
    if (const bj::string* tp = member_string(*meta, "traceparent")) {
      const bj::string* ts = member_string(*meta, "tracestate");
      if (auto t = TraceContext::parse(*tp, ts ? std::string_view(*ts) : std::string_view()))
        return t->child();
    }
  }
  if (!info.traceparent.empty())
    if (auto t = TraceContext::parse(info.traceparent, info.tracestate)) return t->child();
  return TraceContext::start();
}

}  // namespace

Server::Impl::Impl(Server& s, const ServerOptions& o)
    : self(s), opt(o), request_state(o.request_state_ttl) {
  const std::size_t n = o.worker_threads
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
      // 2025-11-25 experimental tasks
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
      // the extension io.modelcontextprotocol/tasks
      {"tasks/get", {&Impl::m_tasks_get, false, false, false}},
      {"tasks/update", {&Impl::m_tasks_update, false, false, false}},
      {"tasks/cancel", {&Impl::m_tasks_cancel, false, false, false}},
  };
  metrics = std::make_unique<detail::ServerMetrics>(method_names(legacy_methods, modern_methods));
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
}

std::string Server::Impl::result_text(const bj::value& id, const bj::value& result) {
  std::string s = "{\"jsonrpc\":\"2.0\",\"id\":";
  jsonio::write(id, s);
  s += ",\"result\":";
  jsonio::write(result, s);
  s += '}';
  return s;
}

void Server::Impl::finish(const CallPtr& c, std::string text, int status) {
  if (c->done.exchange(true)) return;
  if (c->deadline) deadlines.cancel(*c->deadline);
  if (!c->session->stateless()) {
    auto& st = c->session->state();
    Lock lk(st.mu);
    auto it = st.in_flight.find(c->id_key);
    if (it != st.in_flight.end() && it->second.lock() == c) st.in_flight.erase(it);
  }
  if (c->suppressed.load()) {
    c->out->abandon();
    return;
  }
  c->out->respond(std::move(text), status);
}

void Server::Impl::finish_error(const CallPtr& c, int code, std::string_view message,
                                const bj::value& data) {
  const int status = c->era == Era::kModern ? modern_http_status(code) : 200;
  finish(c, Server::error_response(c->id, code, message, data), status);
}

void Server::Impl::decorate_modern(bj::object& r, bool cacheable, bool authenticated) const {
  if (!r.contains("resultType")) r["resultType"] = "complete";
  bj::object meta;
  if (auto it = r.find("_meta"); it != r.end() && it->value().is_object())
    meta = it->value().get_object();
  meta[detail::kMetaServerInfo] =
      bj::object{{"name", opt.info.name}, {"version", opt.info.version}};
  r["_meta"] = std::move(meta);
  if (cacheable) {
    if (!r.contains("ttlMs")) r["ttlMs"] = std::max<std::int64_t>(0, opt.cache_ttl_ms);
    if (!r.contains("cacheScope"))
      r["cacheScope"] = opt.cache_scope == "private" || (opt.cache_scope.empty() && authenticated)
                            ? "private"
                            : "public";
  }
}

void Server::Impl::run(const CallPtr& c, const MethodInfo& mi) {
  // Everything the handler does on this thread (and hands to the worker pools) belongs to the
  // request's span.
  TraceScope scope(c->trace, c->tool);
  const auto t0 = std::chrono::steady_clock::now();
  struct Answered {
    const CallPtr& c;
    std::chrono::steady_clock::time_point t0;
    ~Answered() {
      spdlog::debug("mcp: {} ran for {} us", c->method,
                    std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count());
    }
  } answered{c, t0};
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
    r["requestState"] = request_state.sign(*c, sig.request_state);
    decorate_modern(r, false, c->principal.has_value());
    finish(c, result_text(c->id, r), 200);
  } catch (const ResourceNotFound& e) {
    finish_error(
        c, c->era == Era::kModern ? error_code::kInvalidParams : error_code::kResourceNotFound,
        "Resource not found", bj::object{{"uri", e.uri()}});
  } catch (const Error& e) {
    finish_error(c, e.code(), e.what(), e.data());
  } catch (const std::exception& e) {
    spdlog::error("mcp: {} failed: {}", c->method, e.what());
    finish_error(c, error_code::kInternalError, detail::kInternalErrorText);
  } catch (...) {
    spdlog::error("mcp: {} failed with an exception that is not a std::exception", c->method);
    finish_error(c, error_code::kInternalError, detail::kInternalErrorText);
  }
}

void Server::Impl::expire(const CallPtr& c) {
  if (c->done.load() || c->detached.load()) return;
  const std::string text = "The request exceeded its deadline of " +
                           seconds_text(opt.call_timeout) + " and was cancelled";
  if (c->method == "tools/call") {
    // A tool result with isError, not a JSON-RPC error: the spec reserves protocol errors for
    // requests the server cannot take (unknown tool, malformed request) and reports failures
    // of the tool's execution in the result, where the model sees them and can adjust (ask
    // for less, or use a task).
    bj::value r = CallToolResult::error(text).to_json();
    if (c->era == Era::kModern) decorate_modern(r.as_object(), false, c->principal.has_value());
    finish(c, result_text(c->id, r), 200);
  } else {
    finish_error(c, error_code::kInternalError, text);
  }
  metrics->deadlines_exceeded.inc();
  // After the answer, so that what the handler returns when it notices is dropped.
  c->token.cancel();
}

void Server::Impl::handle(const std::shared_ptr<Session>& session, json message,
                          const std::shared_ptr<Outbound>& out, const MessageInfo& info) {
  auto invalid = [&](const json& id, std::string_view why) {
    out->respond(error_response(id, error_code::kInvalidRequest, why), 400);
  };
  if (message.is_array()) return invalid(nullptr, "Batch requests are not supported");
  bj::object* obj = message.if_object();
  if (!obj) return invalid(nullptr, "Invalid Request: expected a JSON-RPC object");

  auto id_it = obj->find("id");
  const bool has_id = id_it != obj->end();
  json id = has_id ? id_it->value() : json(nullptr);
  const bool id_ok = !has_id || id.is_string() || id.is_int64() || id.is_uint64();
  auto* ver = member_string(*obj, "jsonrpc");
  auto m_it = obj->find("method");
  auto& st = session->state();

  if (m_it == obj->end()) {
    // A response from the client to one of our requests (legacy request_client).
    if (has_id && id_ok && (obj->contains("result") || obj->contains("error")) && ver &&
        *ver == "2.0") {
      std::shared_ptr<std::promise<bj::value>> p;
      {
        Lock lk(st.mu);
        auto it = st.pending.find(detail::id_key(id));
        if (it != st.pending.end()) {
          p = it->second;
          st.pending.erase(it);
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

  if (!has_id) {  // a notification: never answered
    if (method == "notifications/initialized") {
      st.initialized.store(true);
    } else if (method == "notifications/cancelled") {
      if (auto r = params.find("requestId"); r != params.end() && !session->stateless()) {
        std::shared_ptr<CallState> c;
        {
          Lock lk(st.mu);
          auto it = st.in_flight.find(detail::id_key(r->value()));
          if (it != st.in_flight.end()) c = it->second.lock();
        }
        if (c && c->method != "initialize") {
          // A cancelled listen stream is answered (its acknowledgement was the answer);
          // anything else ends without one.
          c->suppressed.store(c->method != "subscriptions/listen");
          c->token.cancel();
        }
      }
    }
    out->accepted();
    return;
  }

  metrics->count_request(method);
  auto c = std::make_shared<CallState>();
  c->session = session;
  c->out = out;
  c->id = id;
  c->method = method;
  c->principal = info.principal;
  c->peer_address = info.peer_address;

  const bj::object* meta = member_object(params, "_meta");
  const bool modern = info.modern_http || (meta && meta->contains(detail::kMetaVersion));
  const MethodInfo* mi = nullptr;
  if (modern) {
    c->era = Era::kModern;
    const bj::string* v = meta ? member_string(*meta, detail::kMetaVersion) : nullptr;
    const bj::object* caps = meta ? member_object(*meta, detail::kMetaCaps) : nullptr;
    if (!meta || !v || !caps)
      return finish_error(
          c, error_code::kInvalidParams,
          "Invalid params: _meta must carry io.modelcontextprotocol/protocolVersion and "
          "io.modelcontextprotocol/clientCapabilities");
    if (info.protocol_version_header && *info.protocol_version_header != *v)
      return finish_error(
          c, error_code::kHeaderMismatch,
          "Header mismatch: MCP-Protocol-Version does not match _meta protocolVersion");
    if (!is_modern_version(*v)) {
      bj::array sup;
      for (const auto& s : modern_versions()) sup.emplace_back(s);
      return finish_error(c, error_code::kUnsupportedProtocolVersion,
                          "Unsupported protocol version",
                          bj::object{{"supported", std::move(sup)}, {"requested", *v}});
    }
    c->version = std::string(*v);
    c->client_caps = *caps;
    if (auto* lvl = member_string(*meta, detail::kMetaLogLevel)) {
      auto l = parse_log_level(*lvl);
      c->log_threshold = l ? static_cast<int>(*l) : 100;
    } else {
      c->log_threshold = 100;  // no logLevel: no notifications/message for this request
    }
    auto it = modern_methods.find(method);
    if (it == modern_methods.end())
      return finish_error(c, error_code::kMethodNotFound, "Method not found: " + method);
    mi = &it->second;
  } else {
    c->era = Era::kLegacy;
    auto it = legacy_methods.find(method);
    if (it == legacy_methods.end())
      return finish_error(c, error_code::kMethodNotFound, "Method not found: " + method);
    mi = &it->second;
    if (method != "initialize") {
      Lock lk(st.mu);
      c->version = st.protocol_version.empty() ? "2025-03-26" : st.protocol_version;
      c->client_caps = st.client_capabilities;
    }
    c->log_threshold = st.log_level.load();
  }
  c->trace = request_trace(meta, info);
  if (method == "tools/call")
    if (const bj::string* name = member_string(params, "name")) c->tool = std::string(*name);
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
        return finish_error(c, error_code::kInvalidParams,
                            "Invalid params: inputResponses must be an object");
      c->input_responses = &it->value().get_object();
    }
    if (auto it = c->params.find("requestState"); it != c->params.end() && !it->value().is_null()) {
      if (!it->value().is_string() ||
          !request_state.verify(*c, it->value().get_string(), c->request_state))
        return finish_error(c, error_code::kInvalidParams,
                            "Invalid params: requestState failed its integrity check");
    }
  }

  c->id_key = detail::id_key(id);
  {
    std::weak_ptr<CallState> wc = c;
    out->on_peer_closed([wc] {
      if (auto call = wc.lock()) {
        if (call->detached.load()) return;  // a task now: it outlives its request
        call->suppressed.store(true);
        call->token.cancel();
      }
    });
  }
  if (!session->stateless()) {
    Lock lk(st.mu);
    st.in_flight[c->id_key] = c;
  }
  bool on_pool = mi->on_pool;
  if (!on_pool && (method == "resources/subscribe" || method == "subscriptions/listen")) {
    // The application's subscribe check may block (it may ask a database): keep it off the
    // transport thread. Without a check these stay cheap and are answered inline.
    on_pool = resources.has_subscribe_check();
  }
  if (!on_pool) {
    run(c, *mi);
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
  if (opt.call_timeout.count() > 0 && method != "subscriptions/listen") {
    std::weak_ptr<CallState> wc = c;
    deadlines.schedule(
        std::chrono::steady_clock::now() + opt.call_timeout,
        [this, wc] {
          if (auto call = wc.lock()) expire(call);
        },
        c->deadline);
  }
  const MethodInfo info_copy = *mi;
  std::shared_ptr<WorkerPool::Ticket> ticket;
  auto submitted = pool->submit(
      caller,
      [c, this, info_copy] {
        if (c->done.load()) return;  // answered by its deadline while it waited
        if (c->token.cancelled() && c->suppressed.load()) {
          finish(c, {}, 200);
          return;
        }
        run(c, info_copy);
      },
      capped, &ticket);
  switch (submitted) {
    case WorkerPool::Submitted::kQueued: {
      // A waiting call nobody wants any more (its client went away or cancelled it, or its
      // deadline answered it) leaves the queue at once, giving its caller's place back.
      std::weak_ptr<CallState> wc = c;
      c->token.on_cancel([this, wc, ticket] {
        auto call = wc.lock();
        if (!call || !(call->done.load() || call->suppressed.load())) return;
        if (pool->withdraw(ticket)) finish(call, {}, 200);
      });
      break;
    }
    case WorkerPool::Submitted::kKeyFull:
      metrics->busy_caller.inc();
      finish_error(c, error_code::kInternalError,
                   "Server busy: too many queued requests from this caller");
      break;
    case WorkerPool::Submitted::kPoolFull:
    case WorkerPool::Submitted::kStopped:
      metrics->busy_pool.inc();
      finish_error(c, error_code::kInternalError, "Server busy: too many queued requests");
      break;
  }
}

}  // namespace mcp
