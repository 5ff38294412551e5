// Caller relay: how what an upstream sends while the gateway forwards one request of a caller
// (progress, log messages, elicitation/sampling/roots requests) reaches that caller.
//
// Two ways, by what the caller can receive:
//  - Directly, on the handler's thread (DirectRelay): a 2025-11-25 caller, or a 2026-07-28
//    caller that declared none of elicitation, sampling and roots. Progress and log messages
//    go on the request's stream; an upstream's request becomes the handler's own request to
//    its client (ToolContext::request_client, which a 2026-07-28 caller refuses). Nothing is
//    delivered once the forwarded request has ended: the relay's end waits for the deliveries
//    under way, and later ones are dropped.
//  - Across rounds (ParkedCalls, parked_calls.hpp): a 2026-07-28 caller that declared one of
//    them. The upstream request runs on a thread of its own, and an ask ends the round with
//    input_required; the retry continues it. The requests of one upstream round (a 2026-07-28
//    input_required result) make one round of the caller's, under the upstream's keys.
// Either way the upstream request declares the caller's elicitation, sampling and roots
// capabilities (CallOptions::input_capabilities), so that a 2026-07-28 upstream asks only what
// the caller can answer; a 2025-11-25 upstream's request for anything else is refused to it
// without asking the caller.
//
// forward_request() picks the way for a prompts/get or resources/read; tools/call adds its own
// rules (tool_forwarding.cpp) and uses the same two.
//
// Thread-safety: a DirectRelay belongs to one handler; the callbacks it fills in may run on
// any thread, concurrently. forward_request() may be called concurrently.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "mcp/client.hpp"
#include "mcp/context.hpp"
#include "parked_calls.hpp"
#include "upstream.hpp"

namespace gateway {

class DirectRelay {
 public:
  // `ctx`: the handler's context, which must outlive this object. `silent`: deliver nothing
  // and refuse every request (a computation on values the caller may not read).
  explicit DirectRelay(mcp::ToolContext& ctx, bool silent = false);
  // Waits for the deliveries under way; later ones are dropped.
  ~DirectRelay();
  DirectRelay(const DirectRelay&) = delete;
  DirectRelay& operator=(const DirectRelay&) = delete;

  // Fills in the progress callback of `co` and the log and ask callbacks of `sink`.
  void attach(mcp::CallOptions& co, CallSink& sink) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// True when a 2026-07-28 caller declared a capability the upstream's requests need
// (elicitation, sampling or roots), so that they can be relayed to it across rounds.
bool askable(const mcp::ToolContext& ctx);

// Makes a 2026-07-28 caller's request across rounds (ParkedCalls::start): `call` runs on a
// thread of its own with options whose cancellation and progress, and a sink whose log and asks,
// are the relayed call's; it may add to the options (their _meta). `finish` makes the answer of
// whichever round receives the result.
RelayedResult relay_across_rounds(Upstream& up, ParkedCalls& parked, mcp::ToolContext& ctx,
                                  const std::string& principal, ParkedCalls::Finish finish,
                                  std::function<RelayedResult(mcp::CallOptions&)> call);

// Forwards one request of the caller of `ctx` (prompts/get, resources/read) to `up`: `call`
// makes it with the options given. A 2026-07-28 caller's retry continues its
// parked request; an askable caller's request is relayed across rounds; any other is made on
// this thread with a DirectRelay.
RelayedResult forward_request(Upstream& up, ParkedCalls& parked, mcp::ToolContext& ctx,
                              std::function<RelayedResult(mcp::CallOptions&)> call);

}  // namespace gateway
