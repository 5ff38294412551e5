// Caller principal: who a client call forwarded to an upstream is made for, as one key, and
// the rule that decides whether something an upstream sends without naming a request (a log
// message; an elicitation, sampling or roots request) may reach the calls in flight on it.
//
// The key is the caller's actor as the cached tools derive it (refcache::derive_actor: the
// authenticated user, else the agent, with the session when the call has one), so that two
// sessions are two principals. A caller with no identity at all (anonymous, no session) is
// one principal over stdio (no peer address: a single client), and cannot be told apart from
// others over HTTP: its key is empty.
//
// Such a message may go to the calls in flight only when every one of them has the same
// non-empty key: otherwise it could reach a caller it does not belong to.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "refcache/cached_call.hpp"

namespace gateway {

// The principal key of a call made with `who`; empty when the caller cannot be told apart
// from other anonymous callers.
std::string caller_principal(const refcache::CallIdentity& who);

// True when `principals` (one per call in flight) is not empty and its keys are all the same
// non-empty key: a message of the upstream cannot belong to another principal.
bool single_principal(const std::vector<std::string>& principals);

}  // namespace gateway
