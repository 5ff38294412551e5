// ToolContext: what a handler knows about its request, and what it can do while serving it.
#include <future>

#include "call_state.hpp"
#include "jsonio/json_text.hpp"
#include "mcp/errors.hpp"
#include "server_impl.hpp"
#include "session_state.hpp"
#include "task_engine.hpp"

namespace mcp {

namespace bj = boost::json;
using refcache_sync::Lock;

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

const TraceContext* ToolContext::trace() const {
  return s_->trace ? &*s_->trace : nullptr;
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
    Lock lk(s_->progress_mu);
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
  if (!s_->task_id.empty())  // the request that started the task was answered already
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
  auto& st = s_->session->state();
  const std::string rid = "srv-" + std::to_string(st.next_request_id.fetch_add(1));
  const std::string key = detail::id_key(bj::value(rid));
  auto p = std::make_shared<std::promise<bj::value>>();
  auto fut = p->get_future();
  {
    Lock lk(st.mu);
    st.pending[key] = p;
  }
  bj::object req{{"jsonrpc", "2.0"}, {"id", rid}, {"method", method}};
  if (!params.is_null()) req["params"] = std::move(params);
  auto cleanup = [&st, &key] {
    Lock lk(st.mu);
    st.pending.erase(key);
  };
  if (!s_->out->send(jsonio::to_string(req))) {
    cleanup();
    throw Error(error_code::kInternalError, "Client connection closed");
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
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
  if (auto e = detail::member_object(o, "error")) {
    auto code = e->find("code");
    throw Error(code != e->end() && code->value().is_int64()
                    ? static_cast<int>(code->value().get_int64())
                    : error_code::kInternalError,
                detail::string_or_empty(detail::member_string(*e, "message")),
                e->contains("data") ? e->at("data") : json(nullptr));
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

bool ToolContext::start_task() {
  if (!s_->tasks) return !s_->task_id.empty();
  return s_->tasks->start(s_);
}

const std::string& ToolContext::task_id() const {
  return s_->task_id;
}

}  // namespace mcp
