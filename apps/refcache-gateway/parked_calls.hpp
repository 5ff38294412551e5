// Parked calls: the requests of 2026-07-28 clients that the gateway forwards (tools/call,
// prompts/get, resources/read), relayed across the rounds of MRTR (multi-round requests), so
// that an upstream's input requests (elicitation/create, sampling/createMessage, roots/list,
// whether they come as 2025-11-25 requests or in a 2026-07-28 input_required result) reach a
// client that cannot be sent requests. The upstream call runs on a thread of its own; the
// round's handler waits for whichever comes first, the call's outcome (the round's answer,
// through `finish`) or an ask, which parks the call in this table under a random key (a new
// one for each ask) and ends the round with ctx.require_input(requests, "relay:" + key) (the
// SDK signs the state). An ask is every request of one upstream round at once, under the
// upstream's keys (ask_all), or one 2025-11-25 request under a random key (ask). The retry
// names the call by its state; its answers (inputResponses[k] for every key asked, each a
// result object, or {"error": {code, message}} for a refusal) go to the blocked ask, and the
// round waits again.
//
// Contract:
//  - A retry must come from the caller principal that parked the call; another caller is
//    refused (-32600) and the call stays parked. An unknown, answered or expired state, a
//    retry without the answer and an answer that is not an object are refused (-32602), a
//    clear JSON-RPC error each.
//  - An ask has `ask_timeout`: past it, the ask fails (the upstream receives the error), the
//    entry is removed and the upstream call is cancelled. Beyond `max_parked` parked calls an
//    ask fails at once, so that clients cannot pile up blocked threads; the upstream receives
//    that error and its call goes on. One ask at a time per call: a second one while the
//    first waits fails at once.
//  - A round cancelled by its client (notifications/cancelled, a closed stream, the server's
//    per-call deadline) cancels the upstream call; nothing waits for a client after that.
//  - Progress and log messages of the upstream reach the client of the round in progress
//    only. While a call is parked they are dropped: a 2026-07-28 notification travels on the
//    stream of a request in flight, and there is none between rounds; keeping them for the
//    next round would need a bound and would deliver them out of their time.
//  - stop() fails every relayed call (its waits and asks) and returns once their threads have
//    ended; start() refuses afterwards. Call it before the upstreams go away.
//
// Thread-safety: every method may be called from any thread, concurrently. RelayedCall's
// methods are for the upstream call and its callbacks (any thread).
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "mcp/client.hpp"
#include "mcp/context.hpp"
#include "mcp/errors.hpp"
#include "mcp/types.hpp"

namespace gateway {

// The upstream's answer to a relayed request, of the request's kind.
using RelayedResult =
    std::variant<mcp::CallToolResult, mcp::GetPromptResult, mcp::ReadResourceResult>;

// The answer of `result`'s kind R; a request state signed for one method never reaches
// another's handler (the SDK binds it to the method and name), so another kind is an error of
// the gateway's (-32603).
template <class R>
R relayed_as(RelayedResult result) {
  if (R* r = std::get_if<R>(&result)) return std::move(*r);
  throw mcp::Error(mcp::error_code::kInternalError,
                   "refcache-gateway: the retry continues a request of another kind");
}

struct RelayOptions {
  // Calls parked at once, waiting for their clients' answers.
  std::size_t max_parked = 64;
  // How long one ask waits for the client's retry.
  std::chrono::milliseconds ask_timeout{std::chrono::seconds(60)};
};

class ParkedCalls;

// One upstream call relayed to a 2026-07-28 client, as its own thread and callbacks see it.
class RelayedCall {
 public:
  // Makes the client answer `method` with `params`: blocks until the client's retry brings the
  // answer (returned), or throws mcp::Error (refused by the client, timeout, table full, the
  // call ended, an ask already waiting).
  boost::json::value ask(const std::string& method, const boost::json::value& params);
  // As ask(), for all the requests of one round ({key: {method, params}}, at least one) asked
  // in one round of the client's; returns {key: answer} for every key. A refusal of any one
  // fails them all.
  boost::json::object ask_all(const boost::json::object& requests);
  // To the client of the round in progress; dropped while the call is parked.
  void progress(const mcp::Progress& p);
  void log(const mcp::LogMessage& m);
  // Cancelled when the call is abandoned (its client cancelled, an ask expired, stop()).
  mcp::CancellationToken& token() { return token_; }

  RelayedCall(ParkedCalls& owner, std::string id, std::string principal,
              std::function<RelayedResult(RelayedResult)> finish);

 private:
  // Runs `deliver` on the round in progress, if one is; `what` names it in the debug log.
  void to_round(const char* what, const std::function<void(mcp::ToolContext&)>& deliver);
  friend class ParkedCalls;
  struct Ask {
    boost::json::object requests;  // {key: {method, params}}
  };

  ParkedCalls& owner_;
  const std::string id_;
  const std::string principal_;
  const std::function<RelayedResult(RelayedResult)> finish_;
  mcp::CancellationToken token_;

  std::mutex mu_;
  std::condition_variable cv_;
  // The round in progress (null between rounds), and the uses of it under way.
  mcp::ToolContext* round_ = nullptr;
  std::uint64_t round_seq_ = 0;
  bool round_cancelled_ = false;
  int users_ = 0;
  // An ask not yet handed to a round, and whether one is outstanding at all.
  std::optional<Ask> pending_;
  bool asking_ = false;
  std::optional<boost::json::object> answer_;
  std::exception_ptr answer_error_;
  // The upstream call's outcome.
  bool done_ = false;
  std::optional<RelayedResult> result_;
  std::exception_ptr error_;
  // No round will come for it any more; `reason` says why.
  bool abandoned_ = false;
  std::string reason_;
  bool parked_ = false;        // guarded by the owner's mutex and this one
  std::string ask_key_;        // the same: its key in the table while parked
  boost::json::object asked_;  // the same: the requests of the ask it is parked for
};

class ParkedCalls {
 public:
  explicit ParkedCalls(RelayOptions options = {});
  ~ParkedCalls();
  ParkedCalls(const ParkedCalls&) = delete;
  ParkedCalls& operator=(const ParkedCalls&) = delete;

  using UpstreamCall = std::function<RelayedResult(const std::shared_ptr<RelayedCall>&)>;
  using Finish = std::function<RelayedResult(RelayedResult)>;

  // A first round: starts `call` on a thread of its own, for `principal`, and waits. Returns
  // finish(the call's result), rethrows the call's exception, or ends the round with
  // ctx.require_input when the call asks.
  RelayedResult start(mcp::ToolContext& ctx, std::string principal, Finish finish,
                      UpstreamCall call);
  // A retry (ctx.request_state() not empty): delivers the answer to the call it names and waits
  // as start() does. Throws mcp::Error as the contract says.
  RelayedResult resume(mcp::ToolContext& ctx, const std::string& principal);
  // Calls parked now.
  std::size_t parked() const;
  // Relayed calls whose upstream thread runs now.
  std::size_t running() const;
  void stop();

 private:
  friend class RelayedCall;
  RelayedResult await(const std::shared_ptr<RelayedCall>& call, mcp::ToolContext& ctx);
  enum class Parking { kParked, kFull, kAbandoned };
  // Parks `call` for an ask of `requests`.
  Parking park(const std::shared_ptr<RelayedCall>& call, const boost::json::object& requests);
  // Under both locks: unparks the call and marks it abandoned; false if it already was.
  bool abandon_locked(RelayedCall& call, const std::string& reason);
  // Abandons the call and cancels its upstream call.
  void abandon(RelayedCall& call, const std::string& reason);
  void expire(RelayedCall& call);
  void finished(const std::string& id);

  const RelayOptions options_;
  mutable std::mutex mu_;  // taken before any RelayedCall's
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<RelayedCall>> parked_;
  std::map<std::string, std::shared_ptr<RelayedCall>> running_;
};

}  // namespace gateway
