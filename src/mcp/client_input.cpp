// The server's questions to the client and the handlers that answer them: elicitation/create,
// sampling/createMessage and roots/list, asked as requests (2025-11-25, answered on the
// client's handler threads) or as the inputRequests of an input_required result (2026-07-28,
// answered on the thread of the call, which then retries).
#include "client_impl.hpp"
#include "jsonio/json_text.hpp"

namespace mcp {

namespace bj = boost::json;
using refcache_sync::Lock;

detail::ClientHandlers Client::Impl::handlers_copy() const {
  Lock lk(handlers_mu);
  return handlers;
}

bj::object Client::Impl::answer_input(const std::string& method, const bj::object& params) {
  const detail::ClientHandlers h = handlers_copy();
  auto str = [&](std::string_view key) {
    auto it = params.find(key);
    return it != params.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                         : std::string();
  };
  if (method == "elicitation/create") {
    if (!h.elicitation)
      throw Error(error_code::kMethodNotFound,
                  "the server asked for elicitation/create and this client has no "
                  "elicitation handler");
    ElicitationRequest rq;
    rq.message = str("message");
    if (auto s = params.find("requestedSchema"); s != params.end())
      rq.requested_schema = s->value();
    if (auto m = str("mode"); !m.empty()) rq.mode = m;
    rq.url = str("url");
    rq.elicitation_id = str("elicitationId");
    rq.params = params;
    return h.elicitation(rq).to_json().as_object();
  }
  if (method == "sampling/createMessage") {
    if (!h.sampling)
      throw Error(error_code::kMethodNotFound,
                  "the server asked for sampling/createMessage and this client has no sampling "
                  "handler");
    SamplingRequest rq;
    if (auto m = params.find("messages"); m != params.end() && m->value().is_array())
      rq.messages = m->value().get_array();
    if (auto t = params.find("maxTokens"); t != params.end() && t->value().is_int64())
      rq.max_tokens = t->value().get_int64();
    rq.system_prompt = str("systemPrompt");
    rq.params = params;
    return h.sampling(rq).to_json().as_object();
  }
  if (method == "roots/list") {
    if (!h.roots)
      throw Error(error_code::kMethodNotFound,
                  "the server asked for roots/list and this client has no roots handler");
    bj::array roots;
    for (const auto& r : h.roots()) {
      bj::object o{{"uri", r.uri}};
      if (!r.name.empty()) o["name"] = r.name;
      roots.push_back(std::move(o));
    }
    return bj::object{{"roots", std::move(roots)}};
  }
  if (method == "ping") return bj::object{};
  throw Error(error_code::kMethodNotFound, "Method not found: " + method);
}

bj::object Client::Impl::answer_inputs(const bj::object& requests) {
  bj::object answers;
  InputRequestsHandler all;
  {
    Lock lk(handlers_mu);
    all = handlers.input_requests;
  }
  for (const auto& [key, req] : requests) {
    const std::string what = "input request \"" + std::string(key) + "\"";
    if (!req.is_object()) detail::malformed(what, "not an object");
    const auto& ro = req.get_object();
    auto m = ro.find("method");
    if (m == ro.end() || !m->value().is_string()) detail::malformed(what, "it has no method");
    if (all) continue;  // well-formed: answered together below
    bj::object params;
    if (auto p = ro.find("params"); p != ro.end() && p->value().is_object())
      params = p->value().get_object();
    const std::string method(m->value().get_string());
    try {
      answers[key] = answer_input(method, params);
    } catch (const ClientError&) {
      throw;
    } catch (const Error& e) {
      throw ClientError(ClientError::Kind::kUnsupported, e.what());
    }
  }
  if (!all) return answers;
  try {
    answers = all(requests);
  } catch (const ClientError&) {
    throw;
  } catch (const Error& e) {
    throw ClientError(ClientError::Kind::kUnsupported, e.what());
  }
  for (const auto& [key, req] : requests) {
    const auto a = answers.find(key);
    if (a == answers.end() || !a->value().is_object())
      throw ClientError(
          ClientError::Kind::kUnsupported,
          "the input requests handler gave no answer object for \"" + std::string(key) + "\"");
  }
  return answers;
}

void Client::Impl::on_server_request(const bj::value& id, const std::string& method,
                                     bj::object params) {
  if (method == "ping") return send_response(id, {});  // cheap: answered on the spot
  const std::string key = detail::client_id_key(id);
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  {
    Lock lk(mu);
    serving[key] = cancelled;
  }
  auto job = [this, id, method, params = std::move(params), key, cancelled] {
    bj::object result;
    int code = 0;
    std::string message;
    try {
      result = answer_input(method, params);
    } catch (const Error& e) {
      code = e.code();
      message = e.what();
    } catch (const std::exception& e) {
      detail::client_log().error("mcp client: the {} handler failed: {}", method, e.what());
      code = error_code::kInternalError;
      message = "Internal error";
    } catch (...) {
      code = error_code::kInternalError;
      message = "Internal error";
    }
    {
      Lock lk(mu);
      serving.erase(key);
    }
    if (cancelled->load()) return;  // the server withdrew the request: no answer
    if (code != 0)
      send_error_response(id, code, message);
    else
      send_response(id, std::move(result));
  };
  if (!request_pool || !request_pool->submit(std::move(job))) {
    {
      Lock lk(mu);
      serving.erase(key);
    }
    server_requests_refused.fetch_add(1, std::memory_order_relaxed);
    send_error_response(id, error_code::kInternalError,
                        "Client busy: too many requests of the server's are waiting");
  }
}

}  // namespace mcp
