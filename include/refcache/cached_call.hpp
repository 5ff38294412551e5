// CachedCall: wraps a function from JSON arguments to a JSON result so that its results are
// cached and answered by reference. Framework-agnostic; refcache_mcp binds it to MCP tools.
//
// On every call:
//   1. namespace, policy and actor follow from the caller's identity (templates such as
//      "user:{user_id}", owner templates, session binding -- the reference's context-scoped
//      options);
//   2. ref ids inside the arguments are resolved as the calling actor, who needs READ or
//      EXECUTE on each (EXECUTE: the value reaches the function, never the caller);
//   3. the call key is a hash of the function name and the canonical JSON of the named
//      arguments. When the refs resolved hold at most 64 KiB of JSON and the caller may READ
//      them all, the arguments are taken resolved (a ref and its literal value share a
//      result). Otherwise they are taken as written, with each resolved occurrence (a ref
//      id, or a ref path with its pointer) and the version of the stored value it resolved
//      to (ref_version(), resolution.hpp): never the value itself, whose serialization and
//      hash cost, for a value of megabytes, as much as the call;
//   4. a cached result for that key is answered with the same ref id, after the same
//      permission and session checks as any read;
//   5. otherwise the function runs (once: a claim in the backend keeps other processes from
//      running the same call at the same time), and its result is stored and answered: the
//      value when small, a preview when large, the ref id alone when the caller may not READ
//      it.
// Why a ref's version may stand for its value in the key (what a hit then costs: the refs'
// entries read and checked, their values not copied): entries are immutable once stored
// (EntryPtr); a ref's value changes only by a new write under the same ref id, which stamps
// a new created_at (the writer's clock) and the sizes it measured, and these are stored with
// the entry, so every RefCache sharing a backend (a SQLite file, Redis) reads the same
// version and hits the same results. An updated ref therefore misses; an unchanged one hits.
// Refs nested in a resolved value are occurrences too, with versions of their own, so a
// change anywhere in what the function receives changes the key. Equal keys thus mean equal
// resolved inputs, unless a ref was rewritten at the same clock reading with a value of the
// same sizes: a store takes microseconds, longer than the resolution of created_at (Unix
// seconds as a double: about 0.25 us), so only a clock that does not advance (a test's fake
// clock) or two writers of one ref id in the same quarter microsecond could do that. Two
// refs holding equal values key apart (each names its own ref id): correct,
// at the price of a second computation. The version says whether the occurrence was used
// through EXECUTE only, so a call on a private ref never shares a result with a reader's
// call on the same ref (their results are stored differently). A literal guess of a private
// value cannot confirm it through a cache hit: its key holds the guess, the private call's
// key the ref id and version, never the value.
// Information flows one way: a result is stored at least as strictly as every ref it was
// computed from (policies combined by stricter_of, a scoped namespace of an input kept). A
// result computed from EXECUTE-only inputs is "private derived": nobody may READ it, it is
// marked so in its metadata, and errors of such a call never carry the function's text. The
// one exception is a ReleaseRule (statistics over a whole original private value of enough
// items; see ReleaseRule).
//   With an async timeout, a call still running after the timeout is answered at once with a
//   task status; it finishes in the background (exactly once), retrying failures with
//   exponential backoff, and its status can be polled (RefCache::get) from any process.
//
// Thread-safety: call() may be invoked concurrently.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "refcache/ref_cache.hpp"
#include "refcache/resolution.hpp"

namespace refcache {

// Who is calling, and the values for namespace/owner templates.
struct CallIdentity {
  // Context values: user_id, agent_id, session_id, org_id, tenant_id, client_id, request_id...
  std::map<std::string, std::string> values{};
  // The actor when no user_id/agent_id is given (its session is replaced by session_id).
  Actor default_actor = Actor::agent();
  // The caller's tenant (RefCache::tenant): with tenants configured, the call runs over the
  // tenant's own store, where its inputs are resolved and its result is stored. Empty: the
  // cache's own store.
  std::string tenant{};
};

// The actor a call acts as: user_id (unless "anonymous") wins over agent_id; otherwise the
// default actor. The session is session_id (unless absent or "nosession"), for every case --
// unlike the reference, which drops it for the default actor.
Actor derive_actor(const CallIdentity& who);

// Who a call's stored results are charged to under RefCacheOptions::quota: "user:<id>",
// else "agent:<id>", else "session:<id>", else "peer:<address>" (values["peer_address"]),
// else "anonymous" (every caller without any of these shares one quota).
std::string quota_principal(const CallIdentity& who);

// Expands {placeholders} from `values`; missing ones use the reference's fallbacks
// (user_id/agent_id "anonymous", org_id/tenant_id "default", session_id "nosession",
// client_id/request_id "unknown"), else "unknown".
std::string expand_template(std::string_view tpl, const std::map<std::string, std::string>& values);

// What a running function can see and do.
class CallContext {
 public:
  // Reports progress; returns false once the call has been cancelled.
  bool report_progress(std::int64_t current, std::optional<std::int64_t> total = std::nullopt,
                       std::optional<std::string> message = std::nullopt);
  // True once cancellation was requested (locally, by RefCache::cancel from any process, or by
  // the caller's own cancel flag).
  bool cancelled();
  // Throws Cancelled once cancellation was requested (or the caller's deadline passed). For
  // loops over large inputs: call it every few thousand items.
  void throw_if_cancelled();
  const Actor& actor() const { return actor_; }
  // The ref id the result will be stored under (async calls), else empty.
  const std::string& ref_id() const { return ref_id_; }
  int attempt() const { return attempt_; }

 private:
  friend class CachedCall;
  Actor actor_;
  std::string ref_id_;
  int attempt_ = 1;
  std::function<void(const TaskProgress&)> on_progress_;
  std::shared_ptr<std::atomic<bool>> local_cancel_;
  std::shared_ptr<std::atomic<bool>> caller_cancel_;
  std::function<bool()> remote_cancel_;  // polls the task record
  std::function<void(const TaskProgress&)> record_progress_;
  std::chrono::steady_clock::time_point last_remote_check_{};
  std::optional<std::int64_t> last_current_;
};

using CallFn = std::function<boost::json::value(const boost::json::object& args, CallContext& ctx)>;

// When a result computed from values the caller may use but not read (EXECUTE-only inputs)
// may be shown to that caller: the declassification rule of docs/concepts.md. All of these
// must hold, or the result is withheld like any private derived result:
//   - the call used exactly one EXECUTE-only ref, once, as the whole value of one parameter
//     (not inside a list or object of other data, which would let a caller mix in values of
//     its own and difference the releases);
//   - that value is original: not itself computed from private values (no masks, concats or
//     transforms of private data), and holding no refs of its own;
//   - it holds at least `min_items` items (a list's elements, an object's members);
//   - the result is an object, and only its members named in `fields` are shown (and
//     stored): statistics that cannot single out one item, such as count, sum, mean, std
//     and variance -- never min, max, median or quantiles, which are items themselves.
struct ReleaseRule {
  std::vector<std::string> fields{};
  std::size_t min_items = 10;
};

struct CachedCallOptions {
  std::string ns = "public";
  std::optional<std::string> namespace_template{};  // e.g. "org:{org_id}:user:{user_id}"
  std::optional<std::string> owner_template{};      // e.g. "user:{user_id}" -> policy.owner
  bool session_scoped = false;                      // bind the result to the caller's session
  std::optional<AccessPolicy> policy{};             // default: the cache's default policy
  // TTL of results (>= 0, or kNoExpiry); none: the namespace's (RefCacheOptions).
  std::optional<std::chrono::milliseconds> ttl{};
  std::optional<std::size_t> max_size{};  // small/large threshold and preview size
  bool resolve_refs = true;
  // Top-level arguments in which refs are resolved; empty = all of them. A string argument
  // outside this list that looks like a ref id reaches the function as written.
  std::vector<std::string> ref_params{};
  // Budget of the refs in one call's arguments (items, bytes, nesting; see InputLimits).
  InputLimits input_limits{};
  // What may be shown of a result computed from EXECUTE-only inputs; none: nothing (the
  // result is withheld, stored so that nobody may READ it, and answered by ref id).
  std::optional<ReleaseRule> release{};
  // How long a caller waits for the result before it is answered with the task's status
  // while the call goes on in the background; none: the call runs inline (durations are
  // std::chrono::milliseconds; see ref_cache.hpp).
  std::optional<std::chrono::milliseconds> async_timeout{};
  int max_attempts = 1;  // async: 1 + retries
  // The wait before the n-th retry is retry_base_delay * 2^(n-1), at most retry_max_delay.
  std::chrono::milliseconds retry_base_delay = std::chrono::seconds(1);
  std::chrono::milliseconds retry_max_delay = std::chrono::seconds(30);
  AsyncResponseFormat async_format = AsyncResponseFormat::kStandard;
  // How long a caller waits for another process that holds the claim on the same call
  // before computing it itself.
  std::chrono::milliseconds claim_wait = std::chrono::seconds(10);
  // The lease of that claim, 10 ms to 24 h: the holder renews it every third of the lease
  // while the call runs, so a claim whose holder died, or could not release it because the
  // backend was away, stops holding others back after at most this long.
  std::chrono::milliseconds claim_lease = std::chrono::seconds(3);
};

// Per-call extras from the caller.
struct CallOverrides {
  std::optional<std::size_t> max_size{};  // beats the tool's
  std::optional<AsyncResponseFormat> async_format{};
  std::function<void(const TaskProgress&)> on_progress{};  // e.g. MCP progress notifications
  std::shared_ptr<std::atomic<bool>> cancel{};             // e.g. MCP notifications/cancelled
  // Refresh: a stored result created before this time (RefCache::now(), seconds) counts as
  // absent, so the call runs again and its result is written under the same ref id, with a
  // new created_at and TTL: whoever holds the ref reads the new value (subscribers hear of the
  // update). An async call's refresh (async_timeout) is stored under a new ref id instead,
  // which replaces the old one. A result at least this new -- another process's refresh,
  // waited for through the call's claim -- is answered as usual, so processes refreshing the
  // same call compute it once.
  std::optional<double> not_before{};
};

// A failure of the wrapped function, carried to the caller as a tool error. what() is the
// text for the caller; detail() what the operator's log may hold besides (e.g. the text of an
// exception that must not reach a caller).
class CallFailed : public Error {
 public:
  explicit CallFailed(const std::string& message, std::string detail = {})
      : Error(message), detail_(std::move(detail)) {}
  const std::string& detail() const { return detail_; }

 private:
  std::string detail_;
};

// Where and how a caller's private value is stored (docs/concepts.md, "Private values"):
// nobody READs it through the cache; only its caller's scope may use it (EXECUTE) and delete
// it, and every other actor gets nothing, not even EXECUTE.
//   - an authenticated user U: namespace "user:U", owned by user:U (EXECUTE and DELETE);
//   - an unauthenticated caller with a session S (stdio, 2025-11-25 HTTP): namespace
//     "session:S", bound to session S;
//   - a caller with neither (2026-07-28 HTTP without authentication): refused with
//     InvalidArgument, since nothing would tell its later calls from anyone else's.
// A scoped `scoping.namespace_template` (one holding a user/session/agent pair, e.g.
// "org:{org_id}:user:{user_id}") replaces the namespace; `scoping.session_scoped` also binds
// an authenticated user's value to the session. Pass the cache's options().call_defaults.
SetOptions private_set_options(const CallIdentity& who, const CallDefaults& scoping = {});

class CachedCall {
 public:
  CachedCall(RefCache& cache, std::string name, CallFn fn, CachedCallOptions options = {});

  const std::string& name() const { return name_; }
  const CachedCallOptions& options() const { return options_; }

  // Runs or answers the call (see the header comment). Throws InvalidReference /
  // CircularReference for bad input refs, InvalidArgument for a breached input budget or a
  // scope the caller lacks (a "session:{session_id}" namespace and no session), Cancelled
  // when `overrides.cancel` is set before the call finishes, CallFailed when the function
  // fails (inline calls, or an async call that failed within its timeout). The function's
  // own errors pass through when they are refcache errors or std::invalid_argument; any
  // other exception becomes CallFailed("internal error"), so that no library's text (paths,
  // internals) reaches a caller; and when the call used EXECUTE-only inputs, every error
  // names the parameters that held them and carries no text of the function's.
  boost::json::object call(const boost::json::object& args, const CallIdentity& who = {},
                           const CallOverrides& overrides = {});

  // The key of a call with these arguments, in which no ref was resolved.
  std::string call_key(const boost::json::object& args) const;

 private:
  struct Scope {
    std::string ns{};
    AccessPolicy policy{};
    Actor actor{};
  };
  Scope scope_for(const CallIdentity& who) const;
  // The key of a call with `args` as written whose refs resolved as `res` says (step 3 of
  // the header comment).
  std::string resolved_key(const boost::json::object& args, const ResolutionResult& res) const;
  boost::json::object respond(const std::string& ref_id, const EntryPtr& entry, const Actor& actor,
                              std::size_t max_size);
  boost::json::object run_async(const std::string& key, const std::string& ref_id,
                                const std::string& ns, const AccessPolicy& policy,
                                const Actor& actor, const boost::json::object& args,
                                const CallOverrides& ov, std::size_t max_size, bool bind_key,
                                const std::shared_ptr<RefCache::KeptClaim>& claim,
                                const std::vector<PrivateInput>& private_inputs, bool released,
                                const std::string& principal);

  RefCache& cache_;
  std::string name_;
  CallFn fn_;
  CachedCallOptions options_;
};

}  // namespace refcache
