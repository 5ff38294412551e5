#include "refcache/cached_call.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "jsonio/json_text.hpp"
#include "refcache/claim_keeper.hpp"
#include "refcache/namespace.hpp"
#include "refcache/ref_id.hpp"
#include "refcache/resolution.hpp"
#include "refcache/sha256.hpp"
#include "refcache/task_pool.hpp"

namespace refcache {
namespace json = boost::json;

namespace {

const std::map<std::string, std::string>& fallbacks() {
  static const std::map<std::string, std::string> f = {
      {"user_id", "anonymous"},    {"org_id", "default"},    {"tenant_id", "default"},
      {"session_id", "nosession"}, {"client_id", "unknown"}, {"request_id", "unknown"},
      {"agent_id", "anonymous"}};
  return f;
}

std::optional<std::string> value_of(const std::map<std::string, std::string>& m,
                                    const std::string& k) {
  auto it = m.find(k);
  if (it == m.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

// Waits on a shared result of a background run.
struct AsyncState {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool ok = false;
  std::string error;
  std::string ref_id;
};

// Releases claim `c` if there is one. When the backend is away the claim is not lost track
// of: it lapses within its lease.
void release_quietly(RefCache::ClaimKeeper& keeper, RefCache::KeptClaim* c) noexcept {
  if (!c) return;
  try {
    keeper.release(*c);
  } catch (...) {
  }
}

// steady_clock::now() + `d`, or the end of time when that is beyond it (a duration option set
// to milliseconds::max() waits for ever instead of overflowing).
std::chrono::steady_clock::time_point steady_after(std::chrono::milliseconds d) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point now = Clock::now();
  if (d > std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::max() - now))
    return Clock::time_point::max();
  return now + d;
}

// The claim of a call: on the call's stack when it runs inline, shared with the background
// run of an async call (which releases it when it ends). Released, if held, when the call
// ends, unless it passed to an async run.
struct ClaimGuard {
  using Claim = RefCache::KeptClaim;
  ClaimGuard(RefCache::ClaimKeeper& k, std::string name, std::string owner,
             std::chrono::milliseconds lease, bool for_async)
      : keeper(k) {
    if (for_async)
      shared = std::make_shared<Claim>(std::move(name), std::move(owner), lease);
    else
      local.emplace(std::move(name), std::move(owner), lease);
  }
  ~ClaimGuard() {
    if (held) release_quietly(keeper, &get());
  }
  ClaimGuard(const ClaimGuard&) = delete;
  ClaimGuard& operator=(const ClaimGuard&) = delete;
  Claim& get() { return shared ? *shared : *local; }

  RefCache::ClaimKeeper& keeper;
  std::optional<Claim> local;
  std::shared_ptr<Claim> shared;
  bool held = false;
};

// The text of every failure of a call that used EXECUTE-only inputs: it names the parameters
// that held them and nothing the function said, which could quote the values.
std::string private_failure(const std::vector<PrivateInput>& inputs) {
  std::vector<std::string> params;
  for (const auto& in : inputs)
    if (!in.parameter.empty() &&
        std::find(params.begin(), params.end(), in.parameter) == params.end())
      params.push_back(in.parameter);
  std::string names;
  for (const auto& p : params) names += (names.empty() ? "'" : ", '") + p + "'";
  return "The tool could not complete with the values you may use but not read" +
         (names.empty() ? std::string() : " (given for " + names + ")") +
         "; its error is not shown because it could quote them.";
}

// Runs the function, turning its failures into errors whose text may reach the caller (see
// CachedCall::call).
json::value run_guarded(const CallFn& fn, const std::string& tool, const json::object& args,
                        CallContext& ctx, const std::vector<PrivateInput>& private_inputs) {
  try {
    return fn(args, ctx);
  } catch (const Cancelled&) {
    throw;
  } catch (const Error& e) {
    if (!private_inputs.empty()) throw CallFailed(private_failure(private_inputs), e.what());
    throw;
  } catch (const std::invalid_argument& e) {
    if (!private_inputs.empty()) throw CallFailed(private_failure(private_inputs), e.what());
    throw InvalidArgument(e.what());
  } catch (const std::exception& e) {
    if (!private_inputs.empty()) throw CallFailed(private_failure(private_inputs), e.what());
    throw CallFailed("The tool '" + tool + "' failed with an internal error.", e.what());
  }
}

// Why `rule` does not release a result computed from `inputs`; empty when it does.
std::string release_refusal(const ReleaseRule& rule, const std::vector<PrivateInput>& inputs) {
  if (inputs.size() != 1)
    return "it combines several values you may not read (or one several times)";
  const PrivateInput& in = inputs.front();
  if (!in.whole_parameter) return "the private value is not passed whole as one parameter";
  if (in.derived) return "the private value is itself computed from private data";
  if (in.items < rule.min_items)
    return "the private value has fewer than " + std::to_string(rule.min_items) + " items";
  return {};
}

// A template placeholder that stands for the caller's identity, and whether `who` has it.
void require_identity(std::string_view tpl, const std::map<std::string, std::string>& values,
                      std::string_view what) {
  struct Need {
    std::string_view placeholder, key, fallback, message;
  };
  static constexpr Need kNeeds[] = {
      {"{session_id}", "session_id", "nosession",
       "needs the caller's session, and this request has none (2026-07-28 requests are "
       "stateless); call it over stdio or with a 2025-11-25 session"},
      {"{user_id}", "user_id", "anonymous",
       "needs an authenticated user, and this request has none; authenticate with a bearer "
       "token"},
      {"{agent_id}", "agent_id", "anonymous", "needs an agent id, and this request has none"},
  };
  for (const auto& n : kNeeds) {
    if (tpl.find(n.placeholder) == std::string_view::npos) continue;
    auto v = value_of(values, std::string(n.key));
    if (!v || *v == n.fallback)
      throw InvalidArgument("This tool keeps its results per caller (" + std::string(what) + " '" +
                            std::string(tpl) + "') and " + std::string(n.message) + ".");
  }
}

// Keeps only the members of `result` named in `fields`. False if `result` is no object.
bool keep_released_fields(json::value& result, const std::vector<std::string>& fields) {
  if (!result.is_object()) return false;
  json::object kept;
  for (const auto& f : fields)
    if (auto it = result.get_object().find(f); it != result.get_object().end())
      kept[f] = it->value();
  result = std::move(kept);
  return true;
}

// Tells a caller whose result was withheld although the tool releases statistics why.
void explain_refusal(json::object& out, const ReleaseRule& rule, const std::string& reason) {
  if (out.find("value_withheld") == out.end()) return;
  out["message"] =
      "The result is withheld: this tool shows statistics of data you may use but "
      "not read only over one whole original private value of at least " +
      std::to_string(rule.min_items) + " items, and " + reason +
      ". Pass ref_id to other tools to use it.";
}
}  // namespace

std::string expand_template(std::string_view tpl,
                            const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(tpl.size() + 16);
  std::size_t i = 0;
  while (i < tpl.size()) {
    if (tpl[i] == '{') {
      std::size_t j = i + 1;
      auto ident_start = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      };
      auto ident = [&](char c) { return ident_start(c) || (c >= '0' && c <= '9'); };
      if (j < tpl.size() && ident_start(tpl[j])) {
        while (j < tpl.size() && ident(tpl[j])) ++j;
        if (j < tpl.size() && tpl[j] == '}') {
          std::string name(tpl.substr(i + 1, j - i - 1));
          if (auto v = value_of(values, name))
            out += *v;
          else if (auto f = fallbacks().find(name); f != fallbacks().end())
            out += f->second;
          else
            out += "unknown";
          i = j + 1;
          continue;
        }
      }
    }
    out.push_back(tpl[i++]);
  }
  return out;
}

std::string quota_principal(const CallIdentity& who) {
  if (auto u = value_of(who.values, "user_id"); u && *u != "anonymous") return "user:" + *u;
  if (auto a = value_of(who.values, "agent_id"); a && *a != "anonymous") return "agent:" + *a;
  if (auto s = value_of(who.values, "session_id"); s && *s != "nosession") return "session:" + *s;
  if (auto p = value_of(who.values, "peer_address")) return "peer:" + *p;
  return "anonymous";
}

Actor derive_actor(const CallIdentity& who) {
  std::optional<std::string> session = value_of(who.values, "session_id");
  if (session && *session == "nosession") session.reset();
  if (auto u = value_of(who.values, "user_id"); u && *u != "anonymous")
    return Actor::user(*u, session);
  if (auto a = value_of(who.values, "agent_id"); a && *a != "anonymous")
    return Actor::agent(*a, session);
  Actor actor = who.default_actor;
  if (session) actor.session_id = session;
  return actor;
}

SetOptions private_set_options(const CallIdentity& who, const CallDefaults& scoping) {
  SetOptions so;
  AccessPolicy p = AccessPolicy::execute_only();
  p.owner_permissions = Permission::kExecute | Permission::kDelete;
  auto session = value_of(who.values, "session_id");
  if (session && *session == "nosession") session.reset();
  auto user = value_of(who.values, "user_id");
  if (user && *user == "anonymous") user.reset();
  if (user) {
    so.ns = "user:" + *user;
    p.owner = "user:" + *user;
    if (scoping.session_scoped && session) p.bound_session = *session;
  } else if (session) {
    so.ns = "session:" + *session;
    p.bound_session = *session;
  } else {
    throw InvalidArgument(
        "Private data needs a caller to keep it for, and this request has none: authenticate "
        "with a bearer token, or use a session (stdio, or a 2025-11-25 client).");
  }
  if (scoping.namespace_template && is_scoped_namespace(*scoping.namespace_template)) {
    require_identity(*scoping.namespace_template, who.values, "namespace");
    so.ns = expand_template(*scoping.namespace_template, who.values);
  }
  so.policy = std::move(p);
  so.principal = quota_principal(who);
  return so;
}

// --- CallContext -------------------------------------------------------------------------

bool CallContext::report_progress(std::int64_t current, std::optional<std::int64_t> total,
                                  std::optional<std::string> message) {
  if (cancelled()) return false;
  // MCP requires progress to increase; drop reports that go backwards.
  if (last_current_ && current <= *last_current_) return true;
  last_current_ = current;
  TaskProgress p{current, total, std::move(message)};
  if (record_progress_) record_progress_(p);
  if (on_progress_) on_progress_(p);
  return !cancelled();
}

bool CallContext::cancelled() {
  if (local_cancel_ && local_cancel_->load()) return true;
  if (caller_cancel_ && caller_cancel_->load()) return true;
  if (remote_cancel_) {
    // Polling the store costs a round trip; do it at most every 200 ms.
    auto now = std::chrono::steady_clock::now();
    if (now - last_remote_check_ > std::chrono::milliseconds(200)) {
      last_remote_check_ = now;
      if (remote_cancel_()) {
        if (local_cancel_) local_cancel_->store(true);
        return true;
      }
    }
  }
  return false;
}

void CallContext::throw_if_cancelled() {
  if (cancelled()) throw Cancelled("The call was cancelled before it finished.");
}

// --- CachedCall --------------------------------------------------------------------------

CachedCall::CachedCall(RefCache& cache, std::string name, CallFn fn, CachedCallOptions options)
    : cache_(cache), name_(std::move(name)), fn_(std::move(fn)), options_(std::move(options)) {
  if (!fn_) throw InvalidArgument("CachedCall '" + name_ + "' has no function");
  if (options_.max_size && *options_.max_size == 0)
    throw InvalidArgument("CachedCall '" + name_ + "': max_size must be at least 1");
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  if (options_.claim_lease < std::chrono::milliseconds(10) ||
      options_.claim_lease > std::chrono::hours(24))
    throw InvalidArgument("CachedCall '" + name_ + "': claim_lease must be 10 ms to 24 h");
  // The cache's call defaults: the operator's scoping and budgets (the stricter wins).
  const CallDefaults& d = cache_.options().call_defaults;
  if (d.namespace_template && !options_.namespace_template)
    options_.namespace_template = d.namespace_template;
  options_.session_scoped = options_.session_scoped || d.session_scoped;
  InputLimits& l = options_.input_limits;
  l.max_refs = std::min(l.max_refs, d.input_limits.max_refs);
  l.max_depth = std::min(l.max_depth, d.input_limits.max_depth);
  l.max_items = std::min(l.max_items, d.input_limits.max_items);
  l.max_bytes = std::min(l.max_bytes, d.input_limits.max_bytes);
  if (options_.release)
    options_.release->min_items = std::max(options_.release->min_items, d.release_min_items);
}

namespace {

// Resolved values up to this many bytes of JSON key a call by their content, which costs
// well under a millisecond to serialize and hash; larger ones by their refs' versions.
constexpr std::size_t kContentKeyBytes = std::size_t{64} << 10;

}  // namespace

std::string CachedCall::call_key(const json::object& args) const {
  std::string material = name_;
  material.push_back('\0');
  material += jsonio::to_canonical_string(args);
  return detail::sha256_hex(material, 32);
}

std::string CachedCall::resolved_key(const json::object& args, const ResolutionResult& res) const {
  std::string material = name_;
  material.push_back('\0');
  material += jsonio::to_canonical_string(args);
  // Canonical JSON never holds a raw NUL, so no arguments of call_key() give this material.
  material.push_back('\0');
  for (std::size_t i = 0; i < res.resolved_refs.size(); ++i) {
    material += res.resolved_refs[i];
    material.push_back('\0');
    material += res.resolved_versions[i];
    material.push_back('\0');
  }
  return detail::sha256_hex(material, 32);
}

CachedCall::Scope CachedCall::scope_for(const CallIdentity& who) const {
  Scope s;
  s.actor = derive_actor(who);
  if (options_.namespace_template) {
    // A scope the caller lacks would store results nobody can read, recomputed on every call.
    require_identity(*options_.namespace_template, who.values, "namespace");
    s.ns = expand_template(*options_.namespace_template, who.values);
  } else {
    s.ns = options_.ns;
  }
  s.policy = options_.policy ? *options_.policy : cache_.options().default_policy;
  if (options_.owner_template) {
    require_identity(*options_.owner_template, who.values, "owner");
    s.policy.owner = expand_template(*options_.owner_template, who.values);
  }
  if (options_.session_scoped) {
    auto sess = value_of(who.values, "session_id");
    if (!sess || *sess == "nosession")
      throw InvalidArgument(
          "This tool binds its results to the caller's session, and this request has none "
          "(2026-07-28 requests are stateless); call it over stdio or with a 2025-11-25 "
          "session.");
    s.policy.bound_session = *sess;
  }
  return s;
}

json::object CachedCall::respond(const std::string& ref_id, const EntryPtr& entry,
                                 const Actor& actor, std::size_t max_size) {
  json::object out;
  out.reserve(12);  // the largest answer below has 12 members; no growth on the way
  out["ref_id"] = ref_id;
  const json::value& v = entry->value;
  std::optional<std::size_t> items;
  if (v.is_array()) items = v.get_array().size();
  if (v.is_object()) items = v.get_object().size();

  Permission eff = cache_.checker().effective(entry->policy, actor, entry->ns);
  const auto derived = entry->metadata.find(kDerivedFromPrivate);
  if (!has_all(eff, Permission::kRead) && has_all(eff, Permission::kExecute) &&
      (derived == entry->metadata.end() || derived->value() != true)) {
    // An original value the caller may use but not read (a tool that stores private data):
    // its structure-only shape, as get_cached_result gives it. RefCache::get refuses a value
    // that holds refs too (not an original value); the answer is then the one below.
    GetOptions go;
    go.max_size = max_size;
    go.strategy = PreviewStrategy::kShape;
    try {
      CacheResponse r = cache_.preview(ref_id, entry, actor, go);
      out["preview"] = std::move(r.preview);
      out["is_complete"] = false;
      out["is_async"] = false;
      out["value_withheld"] = true;
      out["preview_strategy"] = to_string(r.preview_strategy);
      out["total_items"] = r.total_items ? json::value(*r.total_items) : json::value(nullptr);
      out["preview_size"] = r.preview_size;
      out["omitted"] = std::move(r.omitted);
      out["message"] =
          "You may use this value but not read it: the preview is its structure only (keys "
          "and types, no values). Pass ref_id='" +
          ref_id + "' to other tools to use it.";
      return out;
    } catch (const PermissionDenied&) {
      // Not an original value: nothing but the ref id.
    }
  }
  if (!has_all(eff, Permission::kRead)) {
    // The caller may use the result (EXECUTE) but not see it: the ref id is all it gets.
    out["is_complete"] = false;
    out["is_async"] = false;
    out["value_withheld"] = true;
    // Not even the size: a tool whose output length depends on private values (a filter)
    // would otherwise answer questions about them.
    out["total_items"] = nullptr;
    out["message"] =
        "The result is computed from values you may use but not read, so it is not shown. "
        "Pass ref_id='" +
        ref_id + "' to other tools to use it.";
    return out;
  }
  // RefCache::set measured the value already and kept the count in the entry's metadata
  // (characters: enough unless tokens are counted by a tokenizer).
  std::size_t size = 0;
  const auto chars = metadata_count(entry->standard.total_chars);
  if (chars && sizes_from_characters(cache_.options().preview))
    size = to_units(*chars, cache_.options().preview);
  else
    size = cache_.measure(v);
  if (size <= max_size) {
    out["value"] = v;
    out["is_complete"] = true;
    out["is_async"] = false;
    out["size"] = size;
    out["total_items"] = items ? json::value(*items) : json::value(nullptr);
    return out;
  }
  GetOptions go;
  go.max_size = max_size;
  // The strategy get_cached_result would use: the shape of a large list of objects (the
  // columns an agent needs to query it), the cache's default strategy when the operator set
  // one, else a sample.
  CacheResponse r = cache_.preview(ref_id, entry, actor, go);
  out["preview"] = std::move(r.preview);
  out["is_complete"] = false;
  out["is_async"] = false;
  out["preview_strategy"] = to_string(r.preview_strategy);
  out["total_items"] = r.total_items ? json::value(*r.total_items) : json::value(nullptr);
  out["original_size"] = r.original_size;
  out["preview_size"] = r.preview_size;
  out["omitted"] = std::move(r.omitted);  // what the preview leaves out (previews.md)
  if (r.page) {
    out["page"] = *r.page;
    out["total_pages"] = r.total_pages ? json::value(*r.total_pages) : json::value(nullptr);
  }
  out["message"] = "Use get_cached_result(ref_id='" + ref_id + "') to paginate.";
  return out;
}

json::object CachedCall::call(const json::object& args, const CallIdentity& who,
                              const CallOverrides& ov) {
  if (!who.tenant.empty() && cache_.has_tenants()) {
    // A tenant's calls run over its own store: the same call, bound to the tenant's cache for
    // this call only (its options already hold the cache's defaults, which apply again as
    // no-ops).
    CachedCall in_tenant(cache_.tenant(who.tenant), name_, fn_, options_);
    return in_tenant.call(args, who, ov);
  }
  Scope scope = scope_for(who);
  const std::size_t max_size =
      ov.max_size ? *ov.max_size
                  : (options_.max_size ? *options_.max_size : cache_.options().preview.max_size);
  if (max_size == 0) throw InvalidArgument("max_size must be at least 1");

  // 1. Resolve input refs as the calling actor: checked, versioned and budgeted here, without
  // copying their values, which only a miss needs (step 4). Most inputs hold none, so a
  // read-only scan decides first; without refs the tool receives `args` as given.
  const json::object* input = &args;  // what the tool receives
  json::object resolved;
  ResolutionResult res;
  ResolutionOptions ro;
  if (options_.resolve_refs && contains_ref_ids(args)) {
    ro.limits = options_.input_limits;
    ro.only_members = options_.ref_params;
    ro.cancel = ov.cancel.get();
    ro.build_value = false;
    res = resolve_refs(cache_, json::value(args), scope.actor, ro);
  }
  // Small readable values key by content (see the header), which needs them now.
  const bool by_content =
      !res.entries.empty() && res.private_inputs.empty() && res.bytes <= kContentKeyBytes;
  auto materialize = [&] {
    if (res.entries.empty() || input == &resolved) return;
    ro.build_value = true;
    ro.entries = &res.entries;
    resolved =
        std::move(resolve_refs(cache_, json::value(args), scope.actor, ro).value.as_object());
    input = &resolved;
  };
  if (by_content) materialize();
  const std::vector<PrivateInput>& private_inputs = res.private_inputs;

  // Information flows one way: the result is stored at least as strictly as its inputs, in
  // the scoped namespace of one of them when the call's own namespace is not scoped.
  const AccessPolicy own_policy = scope.policy;
  for (const auto& p : res.input_policies) scope.policy = stricter_of(scope.policy, p);
  if (!is_scoped_namespace(scope.ns)) {
    for (const auto& ns : res.input_namespaces)
      if (is_scoped_namespace(ns)) {
        scope.ns = ns;
        break;
      }
  }
  // Private inputs: the result is withheld (nobody READs it) unless the release rule holds,
  // in which case its statistics are stored readable under the call's own masks, still
  // bound to the inputs' session and deny lists, in their scope.
  std::optional<std::string> refusal;
  bool released = false;
  if (!private_inputs.empty()) {
    if (options_.release) {
      std::string why = release_refusal(*options_.release, private_inputs);
      if (why.empty())
        released = true;
      else
        refusal = std::move(why);
    }
    if (released) {
      AccessPolicy p = own_policy;
      p.bound_session = scope.policy.bound_session;
      p.denied_actors = scope.policy.denied_actors;
      if (!p.owner) p.owner = scope.policy.owner;
      scope.policy = std::move(p);
    } else {
      scope.policy = withheld_policy(scope.policy);
    }
  }

  const std::string key = res.resolved_refs.empty() ? call_key(args)
                          : by_content              ? call_key(resolved)
                                                    : resolved_key(args, res);
  Backend& backend = cache_.backend();

  // 2. Cache hit (with the same checks as any read).
  bool bind_key = true;
  std::optional<std::string> refresh_ref;  // the stale result a refresh rewrites
  auto hit = [&]() -> std::optional<json::object> {
    auto ref = backend.find_by_key(scope.ns, key);
    if (!ref) return std::nullopt;
    EntryPtr entry = backend.get(*ref);
    if (!entry) return std::nullopt;
    if (cache_.checker().effective(entry->policy, scope.actor, entry->ns) == Permission::kNone) {
      // Someone else's result the caller may not touch: compute afresh, unbound, so the
      // other result is neither revealed nor replaced.
      bind_key = false;
      return std::nullopt;
    }
    if (ov.not_before && entry->created_at < *ov.not_before) {
      // A refresh: the new result is written under the same ref id, so that whoever holds
      // it reads the new value (and subscribers hear of the update) instead of losing it.
      refresh_ref = *ref;
      return std::nullopt;
    }
    return respond(*ref, entry, scope.actor, max_size);
  };
  if (auto r = hit()) return *r;

  // 3. Claim the call so that other processes wait for us instead of computing it again.
  auto& keeper = cache_.claim_keeper();
  // The owner doubles as the async task's ref id.
  ClaimGuard claim(keeper, "call:" + scope.ns + ":" + key, make_ref_id(cache_.name()),
                   options_.claim_lease, options_.async_timeout.has_value());
  if (bind_key) {
    claim.held = keeper.acquire(claim.get());
    if (!claim.held) {
      // Another caller is computing it. Answer with its task if it is an async one.
      if (auto holder = backend.claim_holder(claim.get().name)) {
        if (auto t = backend.get_task(*holder); t && !t->is_terminal()) {
          if (cache_.checker().effective(t->policy, scope.actor, t->ns) != Permission::kNone) {
            auto fmt = ov.async_format ? *ov.async_format : options_.async_format;
            return AsyncTaskResponse::from_task(*t, cache_.now()).to_json(fmt);
          }
        }
      }
      // A synchronous computation elsewhere: wait for its result, boundedly.
      const auto deadline = steady_after(options_.claim_wait);
      while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (ov.cancel && ov.cancel->load())
          throw Cancelled("The call was cancelled while it waited for the same call elsewhere.");
        if (auto r = hit()) return *r;
        if (keeper.acquire(claim.get())) {
          claim.held = true;
          break;
        }
      }
    }
    // Whoever held the claim may have stored its result and released the claim between our
    // look at the cache and our acquire: look again now that nobody else can be computing it,
    // or the same result is computed twice.
    if (claim.held)
      if (auto r = hit()) return *r;
  }

  // 4. Run, on the values of the very entries step 1 checked and keyed.
  materialize();
  if (options_.async_timeout) {
    // The claim (its owner becomes the task's ref id) passes to the background run, which
    // releases it when it ends; the keeper renews it meanwhile.
    const bool held = claim.held;
    claim.held = false;
    return run_async(key, claim.get().owner, scope.ns, scope.policy, scope.actor, *input, ov,
                     max_size, bind_key, held ? claim.shared : nullptr, private_inputs, released,
                     quota_principal(who));
  }

  CallContext ctx;
  ctx.actor_ = scope.actor;
  ctx.on_progress_ = ov.on_progress;
  ctx.caller_cancel_ = ov.cancel;
  ctx.throw_if_cancelled();
  json::value result;
  if (private_inputs.empty()) {
    result = run_guarded(fn_, name_, *input, ctx, private_inputs);
  } else {
    // Whether a computation on private values failed is itself a fact about them (a log
    // transform fails on a value <= 0: with a mask, that finds any value in 64 calls). So a
    // failure is answered like a success: a withheld ref, here to a value nobody may read.
    try {
      result = run_guarded(fn_, name_, *input, ctx, private_inputs);
    } catch (const Cancelled&) {
      throw;
    } catch (const Error& e) {
      result = json::object{{"error", e.what()}};
      if (released) refusal = "the tool could not compute statistics of it";
      released = false;
    }
  }
  SetOptions so;
  so.ns = scope.ns;
  so.policy = scope.policy;
  so.ttl = options_.ttl;
  so.tool_name = name_;
  so.principal = quota_principal(who);
  if (refresh_ref && bind_key) so.ref_id = *refresh_ref;
  if (!private_inputs.empty()) {
    if (released && !keep_released_fields(result, options_.release->fields)) {
      released = false;
      refusal = "the tool could not compute statistics of it";
    }
    if (!released) {
      so.policy = withheld_policy(*so.policy);
      so.metadata[kDerivedFromPrivate] = true;
    }
  }
  // The entry as stored answers the call: no read back from the backend (for Redis, a round
  // trip).
  auto [ref, stored] =
      cache_.store(bind_key ? std::string_view(key) : std::string_view(), std::move(result), so);
  json::object out = respond(ref.ref_id, stored, scope.actor, max_size);
  if (refusal) explain_refusal(out, *options_.release, *refusal);
  return out;
}

json::object CachedCall::run_async(const std::string& key, const std::string& ref_id,
                                   const std::string& ns, const AccessPolicy& policy,
                                   const Actor& actor, const json::object& args,
                                   const CallOverrides& ov, std::size_t max_size, bool bind_key,
                                   const std::shared_ptr<RefCache::KeptClaim>& claim,
                                   const std::vector<PrivateInput>& private_inputs, bool released,
                                   const std::string& principal) {
  Backend& backend = cache_.backend();
  auto& pool = cache_.task_pool();
  const double now = cache_.now();

  TaskRecord rec;
  rec.ref_id = ref_id;
  rec.status = TaskStatus::kProcessing;
  rec.started_at = now;
  rec.updated_at = now;
  rec.attempt = 0;
  rec.max_attempts = options_.max_attempts;
  rec.worker = cache_.worker_id();
  rec.expires_at = expiry_after(now, cache_.options().task_record_ttl);
  rec.ns = ns;
  rec.policy = policy;
  // The run's liveness claim, taken before the record says it is leased and released after
  // its last save: readers tell a run whose server died from one still going by it.
  auto live =
      std::make_shared<RefCache::KeptClaim>(task_lease_claim(ref_id), ref_id, options_.claim_lease);
  rec.leased = cache_.claim_keeper().acquire(*live);
  if (!rec.leased) live.reset();
  try {
    backend.put_task(rec);
  } catch (...) {
    // No run: give both claims up (the call's passed to us), else they are renewed forever.
    release_quietly(cache_.claim_keeper(), live.get());
    release_quietly(cache_.claim_keeper(), claim.get());
    throw;
  }

  auto state = std::make_shared<AsyncState>();
  state->ref_id = ref_id;
  auto cancel_flag = pool.cancel_flag(ref_id);
  RefCache* cache = &cache_;
  CallFn fn = fn_;
  CachedCallOptions opts = options_;
  std::string tool = name_;
  CallOverrides overrides = ov;
  const std::vector<PrivateInput>& privates = private_inputs;  // copied into the job below

  pool.submit([=]() mutable {
    Backend& be = cache->backend();
    auto record = std::make_shared<std::mutex>();
    TaskRecord t = rec;
    auto save = [&](const TaskRecord& r) {
      try {
        be.put_task(r);
      } catch (...) {
        // The store being away must not kill the run; the next save retries.
      }
    };
    std::string last_error;
    bool ok = false, was_cancelled = false;
    for (int attempt = 1; attempt <= opts.max_attempts; ++attempt) {
      t.attempt = attempt;
      t.status = TaskStatus::kProcessing;
      t.updated_at = cache->now();
      save(t);
      CallContext ctx;
      ctx.actor_ = actor;
      ctx.ref_id_ = ref_id;
      ctx.attempt_ = attempt;
      ctx.local_cancel_ = cancel_flag;
      ctx.caller_cancel_ = overrides.cancel;
      ctx.on_progress_ = overrides.on_progress;
      ctx.remote_cancel_ = [&be, ref_id] {
        try {
          auto r = be.get_task(ref_id);
          return r && r->cancel_requested;
        } catch (...) {
          return false;
        }
      };
      ctx.record_progress_ = [&](const TaskProgress& p) {
        std::lock_guard lock(*record);
        t.progress = p;
        t.updated_at = cache->now();
        save(t);
      };
      try {
        json::value result = run_guarded(fn, tool, args, ctx, privates);
        if (ctx.cancelled()) {
          was_cancelled = true;
          break;
        }
        SetOptions so;
        so.ns = ns;
        so.policy = policy;
        so.ttl = opts.ttl;
        so.tool_name = tool;
        so.ref_id = ref_id;
        so.metadata["async_completed"] = true;
        if (!privates.empty() &&
            !(released && keep_released_fields(result, opts.release->fields))) {
          so.policy = withheld_policy(*so.policy);
          so.metadata[kDerivedFromPrivate] = true;
        }
        cache->set(bind_key ? std::string_view(key) : std::string_view(), std::move(result), so);
        ok = true;
        break;
      } catch (const std::exception& e) {
        last_error = e.what();
      } catch (...) {
        last_error = "unknown error";
      }
      if (ctx.cancelled()) {
        was_cancelled = true;
        break;
      }
      if (attempt < opts.max_attempts) {
        // Exponential backoff, interruptible by cancellation.
        // In floating point: the doubling must not overflow before the cap applies.
        const auto grown = opts.retry_base_delay * std::pow(2.0, attempt - 1);
        const auto until =
            steady_after(grown < opts.retry_max_delay
                             ? std::chrono::duration_cast<std::chrono::milliseconds>(grown)
                             : opts.retry_max_delay);
        while (std::chrono::steady_clock::now() < until && !ctx.cancelled())
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (ctx.cancelled()) {
          was_cancelled = true;
          break;
        }
        if (privates.empty()) t.error = last_error;  // private failures are not told (below)
      }
    }
    if (!ok && !was_cancelled && !privates.empty()) {
      // As for inline calls: a failure on private values looks like a success, a withheld
      // result nobody may read.
      try {
        SetOptions so;
        so.ns = ns;
        so.policy = withheld_policy(policy);
        so.ttl = opts.ttl;
        so.tool_name = tool;
        so.ref_id = ref_id;
        so.principal = principal;
        so.metadata["async_completed"] = true;
        so.metadata[kDerivedFromPrivate] = true;
        cache->set(bind_key ? std::string_view(key) : std::string_view(),
                   json::value(json::object{{"error", last_error}}), so);
        ok = true;
      } catch (const std::exception& e) {
        last_error = e.what();
      }
    }
    const double end = cache->now();
    t.completed_at = end;
    t.updated_at = end;
    t.expires_at = expiry_after(end, cache->options().task_record_ttl);
    if (ok) {
      t.status = TaskStatus::kComplete;
      t.error.reset();
    } else if (was_cancelled) {
      t.status = TaskStatus::kCancelled;
    } else {
      t.status = TaskStatus::kFailed;
      t.error = last_error;
    }
    save(t);
    release_quietly(cache->claim_keeper(), live.get());
    release_quietly(cache->claim_keeper(), claim.get());
    cache->task_pool().forget(ref_id);
    {
      std::lock_guard lock(state->mu);
      state->done = true;
      state->ok = ok;
      state->error = was_cancelled ? "cancelled" : last_error;
    }
    state->cv.notify_all();
  });

  // Wait up to the timeout; the run continues in the background either way.
  std::unique_lock lock(state->mu);
  bool finished = state->cv.wait_until(lock, steady_after(*options_.async_timeout),
                                       [&] { return state->done; });
  if (finished) {
    bool ok = state->ok;
    std::string err = state->error;
    lock.unlock();
    if (!ok) throw CallFailed(err);
    EntryPtr entry = backend.get(ref_id);
    if (!entry) throw BackendError("the result was stored but cannot be read back");
    return respond(ref_id, entry, actor, max_size);
  }
  lock.unlock();
  auto t = backend.get_task(ref_id);
  TaskRecord snapshot = t ? *t : rec;
  auto fmt = ov.async_format ? *ov.async_format : options_.async_format;
  return AsyncTaskResponse::from_task(snapshot, cache_.now()).to_json(fmt);
}

}  // namespace refcache
