#include "parked_calls.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <random>
#include <string_view>
#include <thread>

#include "mcp/errors.hpp"
#include "mcp/trace_scope.hpp"

namespace gateway {

namespace json = boost::json;

namespace {

constexpr std::string_view kStatePrefix = "relay:";

// 128 random bits, hex: names a relayed call, and each of its asks in a request state (which
// the SDK signs, so the key need not be secret, only unique).
std::string random_id() {
  static thread_local std::random_device rd;
  std::string out;
  constexpr std::string_view kHex = "0123456789abcdef";
  for (int i = 0; i < 4; ++i) {
    const auto v = static_cast<std::uint32_t>(rd());
    for (int shift = 28; shift >= 0; shift -= 4) out += kHex[(v >> shift) & 0xfU];
  }
  return out;
}

std::string seconds_text(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

// The client's answer to an ask: a result object, or {"error": {code, message}} for a refusal.
std::exception_ptr refusal_of(const json::value& answer) {
  const json::object* o = answer.if_object();
  if (!o) return nullptr;
  const json::value* e = o->if_contains("error");
  if (!e || !e->is_object()) return nullptr;
  int code = mcp::error_code::kInternalError;
  std::string message = "the client refused the input request";
  if (const auto* c = e->as_object().if_contains("code"); c && c->is_int64())
    code = static_cast<int>(c->get_int64());
  if (const auto* m = e->as_object().if_contains("message"); m && m->is_string())
    message = std::string(m->get_string());
  return std::make_exception_ptr(mcp::Error(code, message));
}

// The methods of `requests` ({key: {method, params}}), for messages: "elicitation/create,
// roots/list".
std::string methods_of(const json::object& requests) {
  std::string out;
  for (const auto& [key, rq] : requests) {
    const json::value* m = rq.is_object() ? rq.get_object().if_contains("method") : nullptr;
    if (!out.empty()) out += ", ";
    out += m && m->is_string() ? std::string(m->get_string()) : std::string("a request");
  }
  return out;
}

}  // namespace

RelayedCall::RelayedCall(ParkedCalls& owner, std::string id, std::string principal,
                         std::function<RelayedResult(RelayedResult)> finish)
    : owner_(owner),
      id_(std::move(id)),
      principal_(std::move(principal)),
      finish_(std::move(finish)) {}

json::value RelayedCall::ask(const std::string& method, const json::value& params) {
  const std::string key = random_id();
  json::object answers =
      ask_all(json::object{{key, json::object{{"method", method}, {"params", params}}}});
  return std::move(answers[key]);
}

json::object RelayedCall::ask_all(const json::object& requests) {
  std::unique_lock lock(mu_);
  if (abandoned_) throw mcp::Error(mcp::error_code::kInternalError, "refcache-gateway: " + reason_);
  if (asking_)
    throw mcp::Error(mcp::error_code::kInternalError,
                     "refcache-gateway: the client is already being asked for this call; one "
                     "input request at a time (" +
                         methods_of(requests) + " refused)");
  asking_ = true;
  pending_ = Ask{.requests = requests};
  answer_.reset();
  answer_error_ = nullptr;
  cv_.notify_all();
  const auto deadline = std::chrono::steady_clock::now() + owner_.options_.ask_timeout;
  auto answered = [this] { return answer_ || answer_error_ || abandoned_; };
  if (!cv_.wait_until(lock, deadline, answered)) {
    lock.unlock();
    owner_.expire(*this);
    lock.lock();
  }
  asking_ = false;
  pending_.reset();
  if (answer_) {
    json::object out = std::move(*answer_);
    answer_.reset();
    return out;
  }
  if (answer_error_) {
    std::exception_ptr e = answer_error_;
    answer_error_ = nullptr;
    std::rethrow_exception(e);
  }
  throw mcp::Error(mcp::error_code::kInternalError, "refcache-gateway: " + reason_);
}

void RelayedCall::to_round(const char* what,
                           const std::function<void(mcp::ToolContext&)>& deliver) {
  mcp::ToolContext* ctx = nullptr;
  {
    std::lock_guard lock(mu_);
    if (!round_) return;  // between rounds: nobody to carry it (header)
    ctx = round_;
    ++users_;  // the round does not end while it is in use
  }
  try {
    deliver(*ctx);
  } catch (const std::exception& e) {
    spdlog::debug("relayed call: {} not delivered: {}", what, e.what());
  }
  std::lock_guard lock(mu_);
  --users_;
  cv_.notify_all();
}

void RelayedCall::progress(const mcp::Progress& p) {
  to_round("progress",
           [&p](mcp::ToolContext& ctx) { ctx.progress(p.progress, p.total, p.message); });
}

void RelayedCall::log(const mcp::LogMessage& m) {
  to_round("log message", [&m](mcp::ToolContext& ctx) { ctx.log(m.level, m.data, m.logger); });
}

ParkedCalls::ParkedCalls(RelayOptions options) : options_(options) {}

ParkedCalls::~ParkedCalls() {
  stop();
}

RelayedResult ParkedCalls::start(mcp::ToolContext& ctx, std::string principal, Finish finish,
                                 UpstreamCall call) {
  auto relayed =
      std::make_shared<RelayedCall>(*this, random_id(), std::move(principal), std::move(finish));
  {
    std::lock_guard lock(mu_);
    if (stopping_)
      throw mcp::Error(mcp::error_code::kInternalError, "refcache-gateway is shutting down");
    running_[relayed->id_] = relayed;
  }
  try {
    // Under the round's trace: the upstream request belongs to the caller's span.
    std::thread(mcp::bind_current_trace([this, relayed, call = std::move(call)] {
      try {
        RelayedResult r = call(relayed);
        std::lock_guard lock(relayed->mu_);
        relayed->result_ = std::move(r);
      } catch (...) {
        std::lock_guard lock(relayed->mu_);
        relayed->error_ = std::current_exception();
      }
      {
        std::lock_guard lock(relayed->mu_);
        relayed->done_ = true;
        relayed->cv_.notify_all();
      }
      finished(relayed->id_);
    })).detach();
  } catch (...) {
    finished(relayed->id_);
    throw;
  }
  return await(relayed, ctx);
}

RelayedResult ParkedCalls::resume(mcp::ToolContext& ctx, const std::string& principal) {
  const std::string& state = ctx.request_state();
  if (!state.starts_with(kStatePrefix))
    throw mcp::Error(mcp::error_code::kInvalidParams,
                     "refcache-gateway: this requestState does not name a call of the gateway's");
  const std::string key = state.substr(kStatePrefix.size());
  std::shared_ptr<RelayedCall> relayed;
  {
    std::lock_guard lock(mu_);
    auto it = parked_.find(key);
    if (it == parked_.end())
      throw mcp::Error(mcp::error_code::kInvalidParams,
                       "refcache-gateway: the input request this retry answers is unknown or no "
                       "longer waits (answered already, cancelled, or not answered within " +
                           seconds_text(options_.ask_timeout) +
                           "); make the request again without requestState");
    relayed = it->second;
    if (relayed->principal_ != principal)
      throw mcp::Error(mcp::error_code::kInvalidRequest,
                       "refcache-gateway: this retry comes from another caller than the call it "
                       "continues");
    std::lock_guard call_lock(relayed->mu_);
    json::object answers;
    std::exception_ptr refused;
    for (const auto& [asked, request] : relayed->asked_) {
      const std::string k(asked);
      const json::value* answer = ctx.input_response(k);
      if (!answer)
        throw mcp::Error(mcp::error_code::kInvalidParams,
                         "refcache-gateway: the retry carries no inputResponses[\"" + k +
                             "\"], an answer the call waits for");
      if (!answer->is_object())
        throw mcp::Error(mcp::error_code::kInvalidParams,
                         "refcache-gateway: inputResponses[\"" + k + "\"] must be an object");
      if (!refused) refused = refusal_of(*answer);
      answers[k] = *answer;
    }
    parked_.erase(it);
    relayed->parked_ = false;
    relayed->asked_ = {};
    if (refused)
      relayed->answer_error_ = refused;
    else
      relayed->answer_ = std::move(answers);
    relayed->cv_.notify_all();
  }
  return await(relayed, ctx);
}

RelayedResult ParkedCalls::await(const std::shared_ptr<RelayedCall>& call, mcp::ToolContext& ctx) {
  RelayedCall& c = *call;
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(c.mu_);
    c.round_ = &ctx;
    seq = ++c.round_seq_;
    c.round_cancelled_ = false;
  }
  // Only this round's cancellation counts: the token outlives the round, and a later
  // cancellation of a finished request must not reach the call.
  ctx.token().on_cancel([weak = std::weak_ptr<RelayedCall>(call), seq] {
    if (auto relayed = weak.lock()) {
      std::lock_guard lock(relayed->mu_);
      if (relayed->round_seq_ == seq && relayed->round_) {
        relayed->round_cancelled_ = true;
        relayed->cv_.notify_all();
      }
    }
  });
  std::optional<RelayedCall::Ask> ask;
  std::string key;
  std::unique_lock lock(c.mu_);
  for (;;) {
    c.cv_.wait(lock, [&c] { return c.done_ || c.pending_ || c.round_cancelled_ || c.abandoned_; });
    if (c.done_ || c.round_cancelled_ || c.abandoned_) break;
    RelayedCall::Ask next = std::move(*c.pending_);
    c.pending_.reset();
    lock.unlock();
    const Parking parking = park(call, next.requests);
    lock.lock();
    if (parking == Parking::kParked) {
      ask = std::move(next);
      key = c.ask_key_;
      break;
    }
    if (parking == Parking::kAbandoned) break;
    c.answer_error_ = std::make_exception_ptr(mcp::Error(
        mcp::error_code::kInternalError,
        "refcache-gateway: too many calls wait for their clients' input (" +
            std::to_string(options_.max_parked) + "); " + methods_of(next.requests) + " refused"));
    c.cv_.notify_all();
  }
  // The round ends here: its context is not used any more once the uses under way are over.
  c.round_ = nullptr;
  c.cv_.wait(lock, [&c] { return c.users_ == 0; });
  if (c.done_ && !ask) {
    std::exception_ptr error = c.error_;
    std::optional<RelayedResult> result = std::move(c.result_);
    // An ask the upstream left behind (a 2025-11-25 request it no longer waits for) fails now
    // rather than at its deadline.
    if (!c.abandoned_) {
      c.abandoned_ = true;
      c.reason_ = "the call has ended";
    }
    c.cv_.notify_all();
    lock.unlock();
    if (error) std::rethrow_exception(error);
    return c.finish_(std::move(*result));
  }
  if (ask) {
    lock.unlock();
    ctx.require_input(std::move(ask->requests), std::string(kStatePrefix) + key);
  }
  const bool cancelled = c.round_cancelled_ && !c.abandoned_;
  std::string reason = c.reason_;
  lock.unlock();
  if (cancelled) {
    abandon(c, "the client cancelled the call");
    throw mcp::Error(mcp::error_code::kInternalError, "refcache-gateway: the call was cancelled");
  }
  throw mcp::Error(mcp::error_code::kInternalError, "refcache-gateway: " + reason);
}

ParkedCalls::Parking ParkedCalls::park(const std::shared_ptr<RelayedCall>& call,
                                       const json::object& requests) {
  std::lock_guard lock(mu_);
  std::lock_guard call_lock(call->mu_);
  if (call->abandoned_) return Parking::kAbandoned;
  if (parked_.size() >= options_.max_parked) {
    spdlog::warn("refcache-gateway: {} calls wait for their clients' input; an ask is refused",
                 parked_.size());
    return Parking::kFull;
  }
  // A key of its own for each ask: the state of an earlier round cannot answer a later one.
  call->ask_key_ = random_id();
  call->asked_ = requests;
  parked_[call->ask_key_] = call;
  call->parked_ = true;
  return Parking::kParked;
}

bool ParkedCalls::abandon_locked(RelayedCall& call, const std::string& reason) {
  if (call.parked_) {
    parked_.erase(call.ask_key_);
    call.parked_ = false;
    call.asked_ = {};
  }
  if (call.abandoned_) return false;
  call.abandoned_ = true;
  call.reason_ = reason;
  call.cv_.notify_all();
  return true;
}

void ParkedCalls::abandon(RelayedCall& call, const std::string& reason) {
  {
    std::lock_guard lock(mu_);
    std::lock_guard call_lock(call.mu_);
    abandon_locked(call, reason);
  }
  // Outside the locks: the token's callbacks end the upstream call.
  call.token_.cancel();
}

void ParkedCalls::expire(RelayedCall& call) {
  {
    std::lock_guard lock(mu_);
    std::lock_guard call_lock(call.mu_);
    // A retry that took the call has delivered its answer under these locks.
    if (call.answer_ || call.answer_error_ || call.abandoned_) return;
    abandon_locked(call, "the client did not answer the input request within " +
                             seconds_text(options_.ask_timeout));
  }
  spdlog::info("refcache-gateway: a client did not answer an input request within {}",
               seconds_text(options_.ask_timeout));
  call.token_.cancel();
}

void ParkedCalls::finished(const std::string& id) {
  std::lock_guard lock(mu_);
  running_.erase(id);
  cv_.notify_all();
}

std::size_t ParkedCalls::parked() const {
  std::lock_guard lock(mu_);
  return parked_.size();
}

std::size_t ParkedCalls::running() const {
  std::lock_guard lock(mu_);
  return running_.size();
}

void ParkedCalls::stop() {
  std::map<std::string, std::shared_ptr<RelayedCall>> running;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    running = running_;
    // A call may stay parked after its thread ended (an ask of the upstream's still waits).
    running.insert(parked_.begin(), parked_.end());
  }
  for (const auto& [id, call] : running) abandon(*call, "refcache-gateway is shutting down");
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return running_.empty(); });
  parked_.clear();
}

}  // namespace gateway
