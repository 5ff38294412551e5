// The client's JSON-RPC engine: ids, the table of calls waiting for their answers, deadlines and
// cancellation (notifications/cancelled), the MRTR input rounds of a call, and what arrives from
// the transport (answers, notifications, the server's requests, the end of the connection).
#include "client_impl.hpp"
#include "jsonio/json_text.hpp"
#include "mcp/trace_scope.hpp"

namespace mcp {

namespace bj = boost::json;
using detail::ClientClock;
using detail::PendingCall;
using refcache_sync::Lock;
using Kind = ClientError::Kind;

namespace detail {

std::string client_id_key(const bj::value& id) {
  return jsonio::to_string(id);
}

std::string duration_text(std::chrono::milliseconds d) {
  std::string s = std::to_string(d.count() / 1000);
  if (auto ms = d.count() % 1000; ms != 0) {
    std::string frac = std::to_string(1000 + ms).substr(1);
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
  return s + " s";
}

bool PendingCall::settle_response(bj::value message) {
  {
    Lock lk(mu_);
    if (settled_) return false;
    settled_ = true;
    outcome_.response = std::move(message);
  }
  cv_.notify_all();
  return true;
}

bool PendingCall::settle_error(std::exception_ptr error) {
  {
    Lock lk(mu_);
    if (settled_) return false;
    settled_ = true;
    outcome_.error = std::move(error);
  }
  cv_.notify_all();
  return true;
}

bool PendingCall::settle_cancelled() {
  {
    Lock lk(mu_);
    if (settled_) return false;
    settled_ = true;
    outcome_.cancelled = true;
  }
  cv_.notify_all();
  return true;
}

bool PendingCall::wait_until(ClientClock::time_point deadline) {
  refcache_sync::UniqueLock lk(mu_);
  while (!settled_) {
    if (deadline == ClientClock::time_point::max()) {
      cv_.wait(lk.native());
    } else if (cv_.wait_until(lk.native(), deadline) == std::cv_status::timeout) {
      return settled_;
    }
  }
  return true;
}

PendingCall::Outcome PendingCall::take() {
  Lock lk(mu_);
  return std::move(outcome_);
}

void ProgressSink::deliver(const Progress& p) {
  Lock lk(mu_);
  if (fn_) fn_(p);
}

void ProgressSink::close() {
  Lock lk(mu_);
  fn_ = nullptr;
}

}  // namespace detail

detail::CallControl Client::Impl::control(const CallOptions& o) const {
  detail::CallControl c;
  c.timeout = o.timeout.value_or(opt.request_timeout);
  if (c.timeout.count() > 0) c.deadline = ClientClock::now() + c.timeout;
  c.cancellation = o.cancellation;
  c.on_progress = o.on_progress;
  c.meta = o.meta;
  c.input_capabilities = o.input_capabilities;
  return c;
}

ClientError Client::Impl::closed_error() const {
  Lock lk(mu);
  if (state == State::kIdle)
    return ClientError(Kind::kNotConnected, "the client is not connected (call connect() first)");
  return ClientError(
      Kind::kTransportClosed,
      "connection closed: " + (closed_reason.empty() ? std::string("closed") : closed_reason));
}

void Client::Impl::check_open() const {
  bool ok;
  {
    Lock lk(mu);
    ok = link_open && (state == State::kConnected || state == State::kConnecting);
  }
  if (!ok) throw closed_error();
}

bj::object Client::Impl::round_trip(const std::string& method, bj::object params,
                                    const detail::CallControl& c) {
  check_open();
  if (c.cancellation && c.cancellation->cancelled())
    throw ClientError(Kind::kCancelled, method + " was cancelled before it was sent");
  const std::int64_t id_num = next_id.fetch_add(1);
  const bj::value id(id_num);
  const std::string key = detail::client_id_key(id);
  auto p = std::make_shared<PendingCall>();
  std::shared_ptr<detail::ProgressSink> sink;
  if (c.on_progress) {
    sink = std::make_shared<detail::ProgressSink>(c.on_progress);
    bj::object* meta = nullptr;
    if (auto it = params.find("_meta"); it != params.end() && it->value().is_object())
      meta = &it->value().get_object();
    else
      meta = &params["_meta"].emplace_object();
    (*meta)["progressToken"] = id;
  }
  // A request made while serving a traced operation (a gateway forwarding a call, a tool
  // calling another server) joins its trace as a new span (SEP-414: _meta.traceparent).
  std::string traceparent, tracestate;
  if (const TraceContext* current = current_trace()) {
    const TraceContext span = current->child();
    traceparent = span.traceparent();
    tracestate = span.tracestate();
    bj::object* meta = nullptr;
    if (auto it = params.find("_meta"); it != params.end() && it->value().is_object())
      meta = &it->value().get_object();
    else
      meta = &params["_meta"].emplace_object();
    if (!meta->contains("traceparent")) {
      (*meta)["traceparent"] = traceparent;
      if (!tracestate.empty()) (*meta)["tracestate"] = tracestate;
    } else {
      traceparent.clear();  // the caller chose its own context: the headers do not contradict it
      tracestate.clear();
    }
  }
  std::size_t in_flight = 0;
  bool open = false, registered = false;
  Era era = Era::kLegacy;
  std::string version;
  {
    Lock lk(mu);
    open = link_open;
    in_flight = pending.size();
    era = wire_era;
    version = wire_version;
    if (open && in_flight < opt.max_pending_requests) {
      pending.emplace(key, p);
      if (sink) progress.emplace(key, sink);
      registered = true;
    }
  }
  if (!open) throw closed_error();
  if (!registered)
    throw ClientError(Kind::kBusy, method + ": " + std::to_string(in_flight) +
                                       " calls already wait for answers (the limit is "
                                       "ClientOptions::max_pending_requests)");
  auto forget = [&] {
    {
      Lock lk(mu);
      pending.erase(key);
      progress.erase(key);
    }
    if (sink) sink->close();  // waits for a progress callback that runs now
  };
  if (c.cancellation) {
    std::weak_ptr<PendingCall> wp = p;
    c.cancellation->on_cancel([wp] {
      if (auto q = wp.lock()) q->settle_cancelled();
    });
  }

  bj::object msg{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.empty()) msg["params"] = std::move(params);
  OutgoingMessage out;
  out.text = jsonio::to_string(msg);
  out.kind = OutgoingMessage::Kind::kRequest;
  out.id = id;
  out.method = method;
  out.name = c.name;
  out.protocol_version = c.version ? *c.version : version;
  out.era = c.era ? *c.era : era;
  out.param_headers = c.param_headers;
  out.traceparent = std::move(traceparent);
  out.tracestate = std::move(tracestate);
  try {
    transport->send(std::move(out));
  } catch (...) {
    forget();
    throw;
  }

  const bool answered = p->wait_until(c.deadline);
  forget();
  if (!answered) {
    const std::string why = method + (c.name.empty() ? "" : " " + c.name) +
                            ": no answer within the deadline of " +
                            detail::duration_text(c.timeout);
    cancel_request(id, "The client's deadline passed");
    throw ClientError(Kind::kTimeout, why);
  }
  PendingCall::Outcome o = p->take();
  if (o.cancelled) {
    cancel_request(id, "Cancelled by the caller");
    throw ClientError(Kind::kCancelled, method + (c.name.empty() ? "" : " " + c.name) +
                                            " was cancelled by the caller");
  }
  if (o.error) std::rethrow_exception(o.error);

  const std::string what = method + (c.name.empty() ? "" : " " + c.name);
  bj::object& resp = o.response.as_object();
  auto r = resp.find("result");
  auto e = resp.find("error");
  if (e != resp.end()) {
    if (r != resp.end()) detail::malformed(what, "the answer has both result and error");
    std::rethrow_exception(detail::error_from(e->value(), what));
  }
  if (r == resp.end()) detail::malformed(what, "the answer has neither result nor error");
  if (!r->value().is_object())
    detail::malformed(what,
                      "the result is " + schema_detail::type_name(r->value()) + ", not an object");
  return std::move(r->value().get_object());
}

bj::object Client::Impl::call(const std::string& method, bj::object params,
                              const detail::CallControl& c) {
  const bool is_modern = c.era ? *c.era == Era::kModern : modern();
  for (std::size_t round = 0;; ++round) {
    bj::object p = params;
    add_envelope(p, c, is_modern);
    bj::object r = round_trip(method, std::move(p), c);
    if (!is_modern) return r;
    auto rt = r.find("resultType");
    if (rt == r.end() || !rt->value().is_string() || rt->value().get_string() != "input_required")
      return r;
    const std::string what = method + (c.name.empty() ? "" : " " + c.name);
    if (round + 1 >= opt.max_input_rounds)
      throw ClientError(Kind::kUnsupported,
                        what + ": the server still asks for input after " +
                            std::to_string(round + 1) +
                            " rounds (the limit is ClientOptions::max_input_rounds)");
    auto ir = r.find("inputRequests");
    if (ir == r.end() || !ir->value().is_object())
      detail::malformed(what, "an input_required result without inputRequests");
    params["inputResponses"] = answer_inputs(ir->value().get_object());
    if (auto st = r.find("requestState"); st != r.end() && st->value().is_string())
      params["requestState"] = st->value();
    else
      params.erase("requestState");
  }
}

void Client::Impl::wire(OutgoingMessage& out) const {
  Lock lk(mu);
  out.era = wire_era;
  out.protocol_version = wire_version;
}

void Client::Impl::send_notification(const std::string& method, bj::object params,
                                     std::optional<bj::value> cancels) {
  bj::object msg{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.empty()) msg["params"] = std::move(params);
  OutgoingMessage out;
  out.text = jsonio::to_string(msg);
  out.kind = OutgoingMessage::Kind::kNotification;
  out.method = method;
  wire(out);
  out.cancels = std::move(cancels);
  transport->send(std::move(out));
}

void Client::Impl::send_response(const bj::value& id, bj::object result) {
  bj::object msg{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
  OutgoingMessage out;
  out.text = jsonio::to_string(msg);
  out.kind = OutgoingMessage::Kind::kResponse;
  out.id = id;
  wire(out);
  try {
    transport->send(std::move(out));
  } catch (const std::exception& e) {
    detail::client_log().debug("mcp client: cannot answer the server's request: {}", e.what());
  }
}

void Client::Impl::send_error_response(const bj::value& id, int code, const std::string& message) {
  bj::object msg{
      {"jsonrpc", "2.0"}, {"id", id}, {"error", bj::object{{"code", code}, {"message", message}}}};
  OutgoingMessage out;
  out.text = jsonio::to_string(msg);
  out.kind = OutgoingMessage::Kind::kResponse;
  out.id = id;
  wire(out);
  try {
    transport->send(std::move(out));
  } catch (const std::exception& e) {
    detail::client_log().debug("mcp client: cannot answer the server's request: {}", e.what());
  }
}

void Client::Impl::cancel_request(const bj::value& id, const std::string& reason) {
  {
    Lock lk(mu);
    if (!link_open) return;
  }
  try {
    send_notification("notifications/cancelled", bj::object{{"requestId", id}, {"reason", reason}},
                      id);
  } catch (const std::exception& e) {
    detail::client_log().debug("mcp client: cannot send notifications/cancelled: {}", e.what());
  }
}

ClientTransportCallbacks Client::Impl::callbacks() {
  return ClientTransportCallbacks{
      .message = [this](std::string text) { on_message(std::move(text)); },
      .request_failed = [this](
                            const bj::value& id,
                            std::exception_ptr error) { on_request_failed(id, std::move(error)); },
      .closed = [this](const std::string& reason) { on_closed(reason); }};
}

void Client::Impl::on_message(std::string text) {
  bj::value msg;
  auto bad = [&](const std::string& why) {
    malformed_messages.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t n = 0;
    if (malformed_log.allow(&n)) {
      // Once parsed, the text is let go: the message is shown as written again.
      std::string head = text.empty() ? jsonio::to_string(msg).substr(0, 120) : text.substr(0, 120);
      for (char& ch : head)
        if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
      detail::client_log().warn("mcp client: dropped a message from the server ({}; {} so far): {}",
                                why, n, head);
    }
  };
  if (text.size() > opt.max_message_bytes)
    return bad("larger than " + std::to_string(opt.max_message_bytes) + " bytes");
  std::error_code ec;
  msg = jsonio::parse(
      text, ec,
      jsonio::ParseLimits{.max_depth = opt.max_json_depth, .max_bytes = opt.max_message_bytes});
  if (ec) return bad("not JSON: " + ec.message());
  // The parsed message is all that is needed now: a large one is not held twice.
  text = std::string();
  bj::object* obj = msg.if_object();
  if (!obj) return bad(msg.is_array() ? "a batch, which MCP does not allow" : "not an object");
  auto ver = obj->find("jsonrpc");
  const bool v2 =
      ver != obj->end() && ver->value().is_string() && ver->value().get_string() == "2.0";
  auto id_it = obj->find("id");
  const bool has_id = id_it != obj->end() && !id_it->value().is_null();
  auto m = obj->find("method");

  if (m != obj->end()) {
    if (!v2 || !m->value().is_string()) return bad("not a JSON-RPC request or notification");
    std::string method(m->value().get_string());
    bj::object params;
    if (auto p = obj->find("params"); p != obj->end() && p->value().is_object())
      params = std::move(p->value().get_object());
    if (has_id) {
      const bj::value& id = id_it->value();
      if (!id.is_string() && !id.is_int64() && !id.is_uint64())
        return bad("a request whose id is neither a string nor an integer");
      return on_server_request(id, method, std::move(params));
    }
    return on_notification(std::move(method), std::move(params));
  }
  if (!has_id) {
    // An error answer without an id: the server could not read one of our messages.
    if (auto e = obj->find("error"); e != obj->end() && e->value().is_object()) {
      std::uint64_t n = 0;
      if (malformed_log.allow(&n))
        detail::client_log().warn(
            "mcp client: the server reports an error it cannot attribute "
            "to a request: {}",
            jsonio::to_string(e->value()));
      malformed_messages.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    return bad("neither a request, a notification nor an answer");
  }
  const std::string key = detail::client_id_key(id_it->value());
  std::shared_ptr<PendingCall> p;
  bool listen_end = false;
  bool has_progress = false;
  {
    Lock lk(mu);
    if (auto it = pending.find(key); it != pending.end()) {
      p = it->second;
      has_progress = progress.count(key) > 0;
    } else if (listen_id && *listen_id == key) {
      listen_end = true;
      listen_id.reset();
      if (listen_ack) listen_ack->settle_response(msg);
      listen_ack.reset();
    }
  }
  if (listen_end) {
    detail::client_log().info("mcp client: the server ended the subscriptions/listen stream");
    return;
  }
  if (!p) {
    unexpected_responses.fetch_add(1, std::memory_order_relaxed);
    std::uint64_t n = 0;
    if (unexpected_log.allow(&n))
      detail::client_log().warn(
          "mcp client: dropped an answer with id {} that no call waits for ({} so far)", key, n);
    return;
  }
  if (!v2 || (!obj->contains("result") && !obj->contains("error"))) {
    malformed_messages.fetch_add(1, std::memory_order_relaxed);
    p->settle_error(detail::fresh_exception<ClientError>(
        Kind::kMalformedAnswer, std::string("the server's answer is not a JSON-RPC response (") +
                                    (v2 ? "neither result nor error" : "jsonrpc is not \"2.0\"") +
                                    ")"));
    return;
  }
  // A call that receives progress is answered through the notification queue, behind the
  // progress notifications that came before its answer: they all reach the callback before
  // the call returns.
  if (has_progress && notify_pool) {
    auto job = [p, answer = std::make_shared<bj::value>(std::move(msg))] {
      p->settle_response(std::move(*answer));
    };
    if (notify_pool->submit(job)) return;
    job();
    return;
  }
  p->settle_response(std::move(msg));
}

void Client::Impl::on_request_failed(const bj::value& id, std::exception_ptr error) {
  std::shared_ptr<PendingCall> p;
  {
    Lock lk(mu);
    if (auto it = pending.find(detail::client_id_key(id)); it != pending.end()) p = it->second;
  }
  if (!p) return;
  // The call fails with an exception of its own: the transport's stays with the transport's
  // thread.
  try {
    std::rethrow_exception(std::move(error));
  } catch (const ClientError& e) {
    p->settle_error(
        detail::fresh_exception<ClientError>(e.kind(), std::string(e.what()), e.data()));
  } catch (const Error& e) {
    p->settle_error(detail::fresh_exception<Error>(e.code(), std::string(e.what()), e.data()));
  } catch (const std::exception& e) {
    p->settle_error(
        detail::fresh_exception<ClientError>(Kind::kTransportClosed, std::string(e.what())));
  } catch (...) {
    p->settle_error(detail::fresh_exception<ClientError>(
        Kind::kTransportClosed, std::string("the transport gave up on the request")));
  }
}

void Client::Impl::on_closed(const std::string& reason) {
  std::vector<std::shared_ptr<PendingCall>> waiting;
  std::shared_ptr<PendingCall> ack;
  {
    Lock lk(mu);
    link_open = false;
    closed_reason = reason.empty() ? "the connection closed" : reason;
    for (auto& [k, p] : pending) waiting.push_back(p);
    ack = std::move(listen_ack);
    listen_id.reset();
    for (auto& [k, flag] : serving) flag->store(true);
  }
  const std::string why = "connection closed: " + reason;
  for (auto& p : waiting)
    p->settle_error(detail::fresh_exception<ClientError>(Kind::kTransportClosed, why));
  if (ack) ack->settle_error(detail::fresh_exception<ClientError>(Kind::kTransportClosed, why));
  detail::client_log().debug("mcp client: connection closed: {}", reason);
}

}  // namespace mcp
