// RefCache: stores values, hands out ref ids, and answers with size-bounded previews.
//
// A tool that produces a large value calls set() (or is wrapped by CachedCall) and returns
// the ref id plus a preview instead of the value. Agents page through it with get(), fetch it
// in full with resolve() when they may READ it, or pass the ref id to another tool, which
// resolves it as the calling actor (READ or EXECUTE). Every read path checks the entry's
// AccessPolicy and namespace against the actor.
//
// ref ids are "{name}:{16 lowercase hex}", 64 bits from the CSPRNG (make_ref_id,
// refcache/ref_id.hpp). Lookup by key goes through the Backend's key bindings, so a second
// process sharing the backend finds refs by key too.
//
// Sets that name a principal (SetOptions::principal) are charged to it under
// RefCacheOptions::quota, so that no one caller can grow the store without bound.
//
// Tenants (RefCacheOptions::tenants): tenant(id) is a RefCache over that tenant's own store,
// with the same options, so that the refs of one tenant are never found through another's.
//
// Thread-safety: all methods may be called concurrently.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "refcache/access_policy.hpp"
#include "refcache/actor.hpp"
#include "refcache/backend.hpp"
#include "refcache/errors.hpp"
#include "refcache/permission_checker.hpp"
#include "refcache/preview.hpp"
#include "refcache/resolution.hpp"
#include "refcache/responses.hpp"

namespace refcache {

class CachedCall;
class QuotaLedger;
struct QuotaRecord;

// Durations in the options of refcache (TTLs, timeouts, delays, leases) are
// std::chrono::milliseconds, as in every other options struct of the public headers: any
// std::chrono duration converts to them (std::chrono::hours(1), 500ms), and sub-second leases
// and delays can be said. Times stored in entries and task records stay Unix seconds as doubles
// (entry.hpp): a storage format shared with the reference, not an option.
//
// A TTL of kNoExpiry means "never expires". It is the longest duration there is, so it orders
// after every finite TTL; a TTL stays a plain duration, rather than an optional whose "none"
// would clash with SetOptions::ttl's "none = the namespace's TTL".
inline constexpr std::chrono::milliseconds kNoExpiry = std::chrono::milliseconds::max();

// When something stored at `now` (Unix seconds) for `ttl` expires, in Unix seconds; none for
// kNoExpiry.
std::optional<double> expiry_after(double now, std::chrono::milliseconds ttl);

// What a set charged to a principal (SetOptions::principal) does when storing it would take
// the principal past QuotaOptions::max_entries or max_bytes.
enum class QuotaOverflow {
  // Remove the principal's own oldest entries (never another principal's), oldest first,
  // until the new one fits; the removals are ordinary deletes (kDeleted events).
  kEvictOldest,
  // Store nothing and throw QuotaExceeded: the principal must delete (or wait for expiry)
  // before it may store more.
  kRefuse,
};

// Per-principal limits on what one caller may keep in the store, so that no caller can grow
// it without bound. A set is charged to SetOptions::principal; sets without a principal are
// not counted. The accounting lives in the RefCache object (src/refcache/quota_ledger.hpp),
// above the Backend, so it is the same over every backend, and it is per process: N server
// processes sharing one store bound a principal at N times these limits, and entries stored
// before this process started are not counted (they still expire by their TTL). Victims are
// removed once the set that needs the room is stored, so while T sets of one principal are in
// flight the store may hold max_entries + T of its entries.
struct QuotaOptions {
  // Entries one principal may hold at once. 0 = unlimited. Default: 1000, far above what
  // one agent session keeps alive within a TTL, and small enough that the accounting of a
  // principal stays around 250 KB (about 250 bytes per entry counted).
  std::size_t max_entries = 1000;

  // Bytes of values one principal may hold at once, counted as the compact JSON text of each
  // value (CacheReference::total_size; the store's own overhead per entry is not counted).
  // 0 = unlimited. A single value larger than this is refused with QuotaExceeded whatever
  // on_exceed says. Default: 64 MiB, room for the largest results tools return while one
  // caller cannot take more than that of a store's disk or memory. With max_entries 0 the
  // accounting holds up to one record per byte of this: set both.
  std::size_t max_bytes = std::size_t{64} << 20;

  // What a set that does not fit does. Default: kEvictOldest (the caller's newest result
  // is the one it wants; its oldest are the likeliest to be stale).
  QuotaOverflow on_exceed = QuotaOverflow::kEvictOldest;
};

// What the operator of a server sets once for every cached call of a cache (CachedCall
// applies it to its own options): how results are scoped to their caller, and the budgets
// of a call. A tool's own options may be stricter, never looser.
struct CallDefaults {
  // Overrides every call's namespace, e.g. "user:{user_id}" or "session:{session_id}" (a call
  // whose own namespace_template is set keeps its own).
  std::optional<std::string> namespace_template{};
  // Binds every result to its caller's session.
  bool session_scoped = false;
  // The budget of each call's refs; each field bounds the call's own (the smaller wins).
  InputLimits input_limits{};
  // The least ReleaseRule::min_items of any call that releases statistics of private data
  // (the larger of this and the call's own wins).
  std::size_t release_min_items = 10;
};

// True when `id` may name a tenant (RefCache::tenant): 1 to 64 of [A-Za-z0-9_.-], not starting
// with '.', so that it can stand in a key prefix, a URL or a file name unescaped.
bool is_tenant_id(std::string_view id);

// Tenants: callers whose refs live in stores of their own (RefCache::tenant). Who belongs to
// which tenant is the caller's business (the MCP layer takes it from the authenticated
// principal: CallIdentity::tenant).
struct TenantOptions {
  // Opens the store of tenant `id` (is_tenant_id): its own Redis database or key prefix, or
  // its own SQLite file. Called on the tenant's first use, under a lock (one call per tenant);
  // an exception from it fails that use and the next one calls it again. Unset (default): one
  // store for every caller, and tenants are ignored.
  std::function<std::shared_ptr<Backend>(const std::string& id)> open_backend{};
  // Tenants one RefCache keeps open at once; a further tenant is refused (InvalidArgument),
  // so that callers naming tenants cannot open stores without bound. Default: 256.
  std::size_t max_tenants = 256;
};

struct RefCacheOptions {
  std::string name = "default";        // ref id prefix; must be is_cache_name() (ref_id.hpp)
  std::shared_ptr<Backend> backend{};  // null: a MemoryBackend
  AccessPolicy default_policy{};       // used when set() is given no policy
  // TTL of entries set without one, or kNoExpiry. Must be >= 0.
  std::chrono::milliseconds default_ttl = std::chrono::hours(1);
  // Per-namespace TTLs (or kNoExpiry): the first pattern (glob, e.g. "session:*") matching the
  // namespace decides; otherwise default_ttl.
  std::vector<std::pair<std::string, std::chrono::milliseconds>> namespace_ttls{};
  PreviewConfig preview{};  // size mode, default max_size, strategy
  ClockFn clock = &unix_now;
  std::size_t task_workers = 4;  // threads running async cached calls
  // How long a finished task record is kept, or kNoExpiry; a running task's record lives this
  // long from the start of its run. Must be >= 0.
  std::chrono::milliseconds task_record_ttl = std::chrono::hours(24);
  // Per-principal limits for sets that name a principal (SetOptions::principal). Default:
  // 1000 entries and 64 MiB per principal, evicting the principal's oldest; see QuotaOptions.
  QuotaOptions quota{};
  // Applied to every CachedCall of this cache (CallDefaults).
  CallDefaults call_defaults{};
  // Stores of tenants (RefCache::tenant). Default: none, one store for every caller.
  TenantOptions tenants{};
};

struct SetOptions {
  std::string ns = "public";
  std::optional<AccessPolicy> policy{};  // default: the cache's default_policy
  // >= 0, or kNoExpiry; none: the namespace's TTL (RefCacheOptions::namespace_ttls).
  std::optional<std::chrono::milliseconds> ttl{};
  std::optional<std::string> tool_name{};
  boost::json::object metadata{};  // extra metadata stored with the entry
  // Ref id to store under (async tasks pre-allocate theirs); default: a fresh one.
  std::optional<std::string> ref_id{};
  // Who the entry is charged to under RefCacheOptions::quota, an opaque key such as
  // "user:alice", "session:abc" or "peer:127.0.0.1". Empty (the default): not counted.
  std::string principal{};
};

struct GetOptions {
  std::optional<std::int64_t> page{};       // REQUIRES >= 1; switches sample to paginate
  std::optional<std::int64_t> page_size{};  // REQUIRES >= 1
  std::optional<std::size_t> max_size{};    // call > tool > cache default
  // Default: shape for an array of objects too large to show whole (and no page asked for),
  // when the cache's default strategy is sample; otherwise the cache's default strategy.
  std::optional<PreviewStrategy> strategy{};
  // A strategy by name: a built-in one ("sample", "paginate", "truncate", "shape") or one
  // registered with register_preview_strategy(). Takes precedence over `strategy`. Unknown
  // names throw InvalidArgument listing the known ones.
  std::string strategy_name{};
  std::string ns = "public";  // namespace for lookup by key
  // The part of the value to preview: a JSON Pointer (RFC 6901, escaped, as in a ref path,
  // ref_path.hpp). "" = the whole value. REQUIRES: is_json_pointer(pointer).
  std::string pointer{};
};

using GetResult = std::variant<CacheResponse, AsyncTaskResponse>;

// A resolved value, shared with the store (never copied, never mutated).
using ValuePtr = std::shared_ptr<const boost::json::value>;

class RefCache {
 public:
  explicit RefCache(RefCacheOptions options = {});
  ~RefCache();
  RefCache(const RefCache&) = delete;
  RefCache& operator=(const RefCache&) = delete;

  // The cache of tenant `id`: the same options, preview strategies, cached calls and task
  // workers as this one, over the tenant's own store (TenantOptions::open_backend), opened on
  // first use and kept as long as this object. Nothing done through it reads or writes
  // another store: a ref of one tenant is not found through another's cache. *this when `id`
  // is empty or no tenants are configured; on a tenant's cache, the cache the options built
  // answers (so "" is its own store). Throws InvalidArgument when `id` is not
  // is_tenant_id() or would be a tenant beyond max_tenants, and what open_backend throws.
  RefCache& tenant(std::string_view id);
  // The tenant this cache serves: empty for the cache the options built.
  const std::string& tenant_id() const { return tenant_id_; }
  // Whether tenant() opens stores of their own (TenantOptions::open_backend is set); false on
  // a tenant's cache, whose calls stay in its store.
  bool has_tenants() const { return static_cast<bool>(options_.tenants.open_backend); }

  const std::string& name() const { return options_.name; }
  const RefCacheOptions& options() const { return options_; }
  Backend& backend() const { return *backend_; }
  const std::shared_ptr<Backend>& backend_ptr() const { return backend_; }
  const PermissionChecker& checker() const { return checker_; }
  double now() const { return options_.clock(); }

  // Stores `value` under a fresh ref id, bound to (opts.ns, key) when `key` is non-empty
  // (re-setting a key replaces and deletes the previous entry). No permission check: the
  // caller decides who may write. With opts.principal, the entry is charged to it under
  // options().quota: once it is stored, that principal's oldest entries are removed while it
  // is over its quota; throws QuotaExceeded when the quota refuses it (nothing is stored).
  // The value is copied into the stored entry; the caller keeps its own.
  CacheReference set(std::string_view key, const boost::json::value& value,
                     const SetOptions& opts = {});
  // The same for a value the caller gives up (moved into the entry, not copied).
  CacheReference set(std::string_view key, boost::json::value&& value, const SetOptions& opts = {});
  // The same, also giving back the entry as stored (value, policy, metadata), so that a
  // caller that answers with the value need not read it back from the backend. Like every
  // stored entry it is immutable and may be shared with the backend.
  std::pair<CacheReference, EntryPtr> store(std::string_view key, boost::json::value value,
                                            const SetOptions& opts = {});

  // The preview of an entry as `actor` sees it (READ required), or the task status while an
  // async call is running (READ or EXECUTE on the task's policy required). An actor with
  // EXECUTE but not READ gets the structure-only shape of an original value (not marked
  // kDerivedFromPrivate, holding no refs) when it asks for no page, part or strategy other
  // than shape (PreviewRequest::execute_only_min_items, with the cache's
  // CallDefaults::release_min_items; values_withheld set), and PermissionDenied otherwise.
  // Throws NotFound, PermissionDenied, InvalidArgument (bad page/page_size/max_size), or
  // PartNotFound when opts.pointer names nothing (checked after READ, so that only a reader
  // learns which token failed).
  // A missing ref and one the actor may not read cost the same backend calls in the same
  // order (the entry, then the task record), so their timing does not tell them apart.
  GetResult get(std::string_view ref_or_key, const Actor& actor, const GetOptions& opts = {});

  // get()'s answer for an entry the caller holds: the one store() gave back under `ref_id`,
  // so that a caller answering with the preview of what it just stored does not read the
  // value back from the backend (for a large value, a second parse of it; for Redis, a round
  // trip). Checked for `actor` as get() checks: PermissionDenied without READ (or the
  // structure-only shape for EXECUTE), and the same errors for bad options.
  CacheResponse preview(const std::string& ref_id, const EntryPtr& entry, const Actor& actor,
                        const GetOptions& opts = {});

  // Makes a custom preview strategy available under `name` to get() (GetOptions::strategy_name)
  // and to every tool that takes a preview_strategy. The library enforces the budget and the
  // omission statement around `fn` (generate_custom_preview). Throws InvalidArgument for an
  // empty name, a built-in strategy's name or a name already registered.
  void register_preview_strategy(std::string name, PreviewFunction fn);

  // The strategies get() accepts by name: the built-in ones, then the registered ones.
  std::vector<std::string> preview_strategy_names() const;

  // Cached calls by name, for what runs them without a caller (CacheWarmer): the MCP layer
  // records each cached tool's CachedCall here. The cache holds them weakly: a call is found
  // while its owner (the tool) keeps it alive, and a later one of the same name replaces it.
  void remember_call(const std::shared_ptr<CachedCall>& call);
  // The living call recorded under `name`; null when there is none.
  std::shared_ptr<CachedCall> find_call(std::string_view name) const;

  // The full value (READ required). Throws NotFound or PermissionDenied.
  ValuePtr resolve(std::string_view ref_or_key, const Actor& actor, std::string_view ns = "public");

  // The entry, checked for `required` (e.g. READ, or EXECUTE for a computation).
  EntryPtr entry_for(std::string_view ref_or_key, const Actor& actor, Permission required,
                     std::string_view ns = "public");

  // Deletes an entry (DELETE required). False if it does not exist; throws PermissionDenied.
  bool remove(std::string_view ref_or_key, const Actor& actor, std::string_view ns = "public");

  // True if the entry exists and `actor` holds any permission on it (so existence is not
  // revealed to actors who may do nothing with it). A missing ref and a hidden one cost the
  // same backend call.
  bool exists(std::string_view ref_or_key, const Actor& actor, std::string_view ns = "public");

  // Removes every entry of exactly `ns` (all when nullopt). An administrative operation: no
  // permission check (gate it in the caller).
  std::size_t clear(std::optional<std::string_view> ns = std::nullopt);

  // One page of ref ids of `ns` that `actor` may at least use: READ or EXECUTE. An actor
  // holding only WRITE, UPDATE or DELETE on an entry does not see it listed (a listing is a
  // way to find refs to use, and must not reveal ones the actor cannot use).
  ListPage list(std::optional<std::string_view> ns, const Actor& actor,
                std::string_view cursor = {}, std::size_t limit = 100);

  // Size of a value as a response would count it (units of the preview config).
  std::size_t measure(const boost::json::value& v) const;

  // The effective TTL for a namespace (kNoExpiry: never expires).
  std::chrono::milliseconds ttl_for(std::string_view ns) const;

  // Task helpers for async cached calls.
  std::optional<TaskRecord> task(std::string_view ref_id);
  // Requests cancellation of a running task (DELETE or owner rights not needed: READ or
  // EXECUTE on the task's policy suffices, as for polling). False if no such running task.
  bool cancel(std::string_view ref_id, const Actor& actor);

  // Internal: the process-wide worker pool for async calls and the local cancel flags.
  class TaskPool;
  TaskPool& task_pool();
  // Internal: renews the claims of the cached calls running in this process.
  class ClaimKeeper;
  struct KeptClaim;
  ClaimKeeper& claim_keeper();
  // "<hostname>:<pid>"
  const std::string& worker_id() const { return worker_id_; }

 private:
  // set() and store(): builds the entry of `value` (measured for its metadata) and stores
  // it under a fresh ref id, or opts.ref_id.
  std::pair<CacheReference, EntryPtr> write_entry(std::string_view key, boost::json::value value,
                                                  const SetOptions& opts);
  // A leased task still "processing" whose run's claim has lapsed: its server stopped (was
  // killed, crashed) before it finished. Reported as failed, with that reason.
  std::optional<TaskRecord> live_view(std::optional<TaskRecord> t);
  // The ref id an argument names and its entry (null if missing or expired). A ref-shaped
  // argument is looked up as a ref id only (one Backend::get), never also as a key, so that
  // a missing ref costs what an existing one does; any other argument is a key, looked up
  // through its binding in `ns`.
  std::pair<std::string, EntryPtr> lookup(std::string_view ref_or_key, std::string_view ns);
  // Stores `entry` under `ref_id` for write_entry(), charging it to `principal` under the
  // quota when there is one (and removing the victims the quota names).
  void store_charged(const std::string& ref_id, EntryPtr entry, const KeyBinding* bind,
                     const SetOptions& opts, std::uint64_t bytes);
  // Removes quota victims from the store. A victim that cannot be removed (the backend
  // failed) is given back to the ledger with the rest, for the principal's next set to try
  // again; the set that chose them has succeeded, so the error is not thrown.
  void evict(std::string_view principal, std::vector<QuotaRecord> victims);

  // get()'s answer for an entry `actor` holds READ on (`eff`, its permissions).
  CacheResponse answer(const std::string& ref, const CacheEntry& entry, Permission eff,
                       const GetOptions& opts) const;
  // The preview of `part` (an entry's value or a part of it) for get().
  PreviewResult preview_of(const boost::json::value& part, const GetOptions& opts,
                           std::optional<std::size_t> known_total_chars,
                           std::string& custom_name) const;

  // A tenant's cache, sharing `root`'s strategies, calls and task workers.
  RefCache(RefCacheOptions options, RefCache* root, std::string tenant);

  RefCacheOptions options_;
  std::shared_ptr<Backend> backend_;
  // The cache the options built; `this` for it. Tenants' caches use its registries below.
  RefCache* root_ = this;
  std::string tenant_id_;
  // Custom preview strategies by name (register_preview_strategy), read by every get().
  mutable std::mutex strategies_mu_;
  std::vector<std::pair<std::string, std::shared_ptr<const PreviewFunction>>> strategies_;
  // Cached calls by name (remember_call).
  mutable std::mutex calls_mu_;
  std::map<std::string, std::weak_ptr<CachedCall>, std::less<>> calls_;
  PermissionChecker checker_;
  // The per-principal accounting; null when the quota sets no limit. Shared with the backend
  // listener that tells it about deleted, expired and cleared entries (subscribed on the
  // first charged set), which may run after this object is gone.
  std::shared_ptr<QuotaLedger> quota_;
  std::once_flag quota_listen_once_;
  std::uint64_t quota_listener_ = 0;  // 0: not subscribed
  std::string worker_id_;
  // Tenants' caches by id (tenant()). Before keeper_ and pool_: async runs of a tenant's calls
  // use its cache from this object's workers, so the caches must outlive the pool.
  std::mutex tenants_mu_;
  std::map<std::string, std::unique_ptr<RefCache>, std::less<>> tenants_;
  // Before pool_: async runs release their claims through it, so it must outlive them.
  std::unique_ptr<ClaimKeeper> keeper_;
  std::once_flag keeper_once_;
  std::unique_ptr<TaskPool> pool_;
  std::once_flag pool_once_;
};

}  // namespace refcache
