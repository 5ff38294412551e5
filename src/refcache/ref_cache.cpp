#include "refcache/ref_cache.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <thread>

#include "jsonio/json_text.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/claim_keeper.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/quota_ledger.hpp"
#include "refcache/random.hpp"
#include "refcache/ref_id.hpp"
#include "refcache/ref_path.hpp"
#include "refcache/resolution.hpp"
#include "refcache/task_pool.hpp"

namespace refcache {
namespace json = boost::json;

namespace {

std::string make_worker_id() {
  char host[256] = {0};
  const std::string name = gethostname(host, sizeof host - 1) == 0 ? host : "unknown";
  return name + ":" + std::to_string(getpid()) + ":" + random_hex(4);
}

std::optional<std::size_t> count_items(const json::value& v) {
  if (v.is_array()) return v.get_array().size();
  if (v.is_object()) return v.get_object().size();
  return std::nullopt;
}

std::vector<std::string> actions_for(Permission eff) {
  std::vector<std::string> a;
  if (has_all(eff, Permission::kRead)) {
    a.emplace_back("get_page");
    a.emplace_back("resolve_full");
  }
  if (has_all(eff, Permission::kRead) || has_all(eff, Permission::kExecute))
    a.emplace_back("pass_to_tool");
  if (has_all(eff, Permission::kDelete)) a.emplace_back("delete");
  return a;
}

// True when a caller that may EXECUTE `entry` but not READ it may have what `opts` asks
// for: the shape of the whole value, and only of an original value.
bool structure_may_be_shown(const CacheEntry& entry, const GetOptions& opts) {
  // Only the whole value's shape: a page, a part or another strategy would show values, and
  // a named part that is missing would say what the value lacks.
  if (opts.page || opts.page_size || !opts.pointer.empty()) return false;
  if (!opts.strategy_name.empty() ? opts.strategy_name != "shape"
                                  : opts.strategy && *opts.strategy != PreviewStrategy::kShape)
    return false;
  // A value computed from private data (or holding refs, whose values it stands for) is not
  // an original value: not even its size is told (SECURITY.md, threat 2).
  auto marker = entry.metadata.find(kDerivedFromPrivate);
  if (marker != entry.metadata.end() && marker->value() == true) return false;
  return !contains_ref_ids(entry.value);
}

// The structure-only shape of an original value, for a caller that may EXECUTE it but not
// READ it: what was seen at least as often as a release rule's least item count, no values
// and no counts (PreviewRequest::execute_only_min_items).
CacheResponse structure_of(const std::string& ref, const CacheEntry& entry, Permission eff,
                           const GetOptions& opts, const RefCacheOptions& options) {
  PreviewRequest req;
  req.max_size = opts.max_size ? *opts.max_size : options.preview.max_size;
  req.strategy = PreviewStrategy::kShape;
  req.structure_only = true;
  req.execute_only_min_items = std::max<std::size_t>(options.call_defaults.release_min_items, 1);
  PreviewResult pr = generate_preview(entry.value, req, options.preview);
  CacheResponse resp;
  resp.ref_id = ref;
  resp.cache_name = options.name;
  resp.ns = entry.ns;
  resp.total_items = pr.total_items;
  resp.preview_size = pr.preview_size;
  resp.preview = std::move(pr.preview);
  resp.preview_strategy = PreviewStrategy::kShape;
  resp.omitted = std::move(pr.omitted);
  resp.values_withheld = true;
  resp.available_actions = actions_for(eff);
  return resp;
}

}  // namespace

std::optional<double> expiry_after(double now, std::chrono::milliseconds ttl) {
  if (ttl == kNoExpiry) return std::nullopt;
  return now + std::chrono::duration<double>(ttl).count();
}

RefCache::RefCache(RefCacheOptions options)
    : options_(std::move(options)), backend_(options_.backend), worker_id_(make_worker_id()) {
  if (!is_cache_name(options_.name))
    throw InvalidArgument("cache name '" + options_.name +
                          "' must match [a-zA-Z][a-zA-Z0-9_-]* so its ref ids are recognised");
  if (options_.preview.max_size == 0) throw InvalidArgument("preview max_size must be at least 1");
  if (options_.default_ttl < std::chrono::milliseconds::zero())
    throw InvalidArgument("default_ttl must be >= 0 or kNoExpiry");
  for (const auto& [pattern, ttl] : options_.namespace_ttls)
    if (ttl < std::chrono::milliseconds::zero())
      throw InvalidArgument("the TTL of namespace pattern '" + pattern +
                            "' must be >= 0 or kNoExpiry");
  if (options_.task_record_ttl < std::chrono::milliseconds::zero())
    throw InvalidArgument("task_record_ttl must be >= 0 or kNoExpiry");
  if (!backend_) {
    MemoryBackendOptions mo;
    mo.clock = options_.clock;
    backend_ = std::make_shared<MemoryBackend>(mo);
  }
  if (options_.quota.max_entries != 0 || options_.quota.max_bytes != 0)
    quota_ = std::make_shared<QuotaLedger>(options_.quota);
}

RefCache::RefCache(RefCacheOptions options, RefCache* root, std::string tenant)
    : RefCache(std::move(options)) {
  root_ = root;
  tenant_id_ = std::move(tenant);
}

bool is_tenant_id(std::string_view id) {
  if (id.empty() || id.size() > 64 || id.front() == '.') return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

RefCache& RefCache::tenant(std::string_view id) {
  if (root_ != this) return root_->tenant(id);
  if (id.empty() || !has_tenants()) return *this;
  if (!is_tenant_id(id))
    throw InvalidArgument("tenant id must be 1 to 64 of [A-Za-z0-9_.-], not starting with '.'");
  std::lock_guard lock(tenants_mu_);
  if (auto it = tenants_.find(id); it != tenants_.end()) return *it->second;
  if (tenants_.size() >= options_.tenants.max_tenants)
    throw InvalidArgument("too many tenants: this server keeps the stores of " +
                          std::to_string(options_.tenants.max_tenants) + " open at most");
  RefCacheOptions o = options_;
  o.tenants = {};
  o.backend = options_.tenants.open_backend(std::string(id));
  if (!o.backend) throw InvalidArgument("tenant '" + std::string(id) + "' has no store");
  auto child = std::unique_ptr<RefCache>(new RefCache(std::move(o), this, std::string(id)));
  RefCache& out = *child;
  tenants_.emplace(std::string(id), std::move(child));
  return out;
}

RefCache::~RefCache() {
  if (quota_listener_ != 0) backend_->unsubscribe(quota_listener_);
}

std::chrono::milliseconds RefCache::ttl_for(std::string_view ns) const {
  for (const auto& [pattern, ttl] : options_.namespace_ttls)
    if (glob_match(pattern, ns)) return ttl;
  return options_.default_ttl;
}

std::size_t RefCache::measure(const json::value& v) const {
  return measure_units(v, options_.preview);
}

CacheReference RefCache::set(std::string_view key, const json::value& value,
                             const SetOptions& opts) {
  return write_entry(key, json::value(value), opts).first;
}

CacheReference RefCache::set(std::string_view key, json::value&& value, const SetOptions& opts) {
  return write_entry(key, std::move(value), opts).first;
}

std::pair<CacheReference, EntryPtr> RefCache::store(std::string_view key, json::value value,
                                                    const SetOptions& opts) {
  return write_entry(key, std::move(value), opts);
}

std::pair<CacheReference, EntryPtr> RefCache::write_entry(std::string_view key, json::value value,
                                                          const SetOptions& opts) {
  auto entry = std::make_shared<CacheEntry>();
  const double now = options_.clock();
  const std::chrono::milliseconds ttl = opts.ttl ? *opts.ttl : ttl_for(opts.ns);
  if (ttl < std::chrono::milliseconds::zero())
    throw InvalidArgument("ttl must be >= 0 or kNoExpiry");

  CacheReference ref;
  ref.ref_id = opts.ref_id ? *opts.ref_id : make_ref_id(options_.name);
  ref.cache_name = options_.name;
  ref.ns = opts.ns;
  ref.tool_name = opts.tool_name;
  ref.created_at = now;
  ref.expires_at = expiry_after(now, ttl);
  ref.total_items = count_items(value);
  KeyBinding binding;
  if (!key.empty()) binding = KeyBinding{opts.ns, std::string(key)};
  const KeyBinding* const bind = key.empty() ? nullptr : &binding;
  const jsonio::TextSize size = jsonio::measure(value);
  ref.total_size = size.bytes;

  entry->value = std::move(value);
  entry->ns = opts.ns;
  entry->policy = opts.policy ? *opts.policy : options_.default_policy;
  entry->created_at = now;
  entry->expires_at = ref.expires_at;
  // The caller's metadata, whose standard members (if any) go into the fields; then the
  // standard members RefCache owns. A tool name from the caller's metadata stays unless the
  // options name the tool.
  if (!opts.metadata.empty()) set_metadata(*entry, opts.metadata);
  StandardMetadata& m = entry->standard;
  if (opts.tool_name)
    m.tool_name = json::value(*opts.tool_name);
  else if (!m.tool_name)
    m.tool_name = json::value(nullptr);
  m.total_items = ref.total_items ? json::value(*ref.total_items) : json::value(nullptr);
  m.total_size = json::value(size.bytes);
  // Ours (the Python reader ignores it): the character count, so previews of huge values
  // need not measure every item again.
  m.total_chars = json::value(size.code_points);

  EntryPtr stored = std::move(entry);
  store_charged(ref.ref_id, stored, bind, opts, size.bytes);
  return {std::move(ref), std::move(stored)};
}

void RefCache::store_charged(const std::string& ref_id, EntryPtr entry, const KeyBinding* bind,
                             const SetOptions& opts, std::uint64_t bytes) {
  if (!quota_ || opts.principal.empty()) {
    backend_->set(ref_id, std::move(entry), bind);
    return;
  }
  // Entries that leave the store by any other way than our evictions (deleted through this
  // backend object or, with Redis, by another process; expired; evicted by the memory
  // backend's own bounds; cleared) stop counting. Subscribed on the first charged set, not
  // at construction: a listener makes some backends do more per write (SQLite looks for the
  // row a set overwrites, to announce it), which a cache that charges nobody must not pay.
  // The listener holds the ledger, not this object: a delivery may still be running when
  // the destructor has unsubscribed.
  std::call_once(quota_listen_once_, [this] {
    quota_listener_ = backend_->subscribe([ledger = quota_](const ChangeEvent& e) {
      switch (e.kind) {
        case ChangeKind::kDeleted:
        case ChangeKind::kExpired:
          ledger->forget(e.ref_id);
          break;
        case ChangeKind::kCleared:
          ledger->forget_namespace(e.ns.empty() ? std::nullopt
                                                : std::optional<std::string_view>(e.ns));
          break;
        case ChangeKind::kUpdated:
        case ChangeKind::kResync:
          break;
      }
    });
  });
  const std::string& who = opts.principal;
  const double expires_at =
      entry->expires_at ? *entry->expires_at : std::numeric_limits<double>::infinity();
  quota_->admit(who, ref_id, entry->ns, bytes, expires_at, options_.clock());
  std::optional<std::string> replaced;
  try {
    replaced = backend_->set(ref_id, std::move(entry), bind);
  } catch (...) {
    evict(who, quota_->settle(who, ref_id, false, options_.clock()));
    throw;
  }
  // The entry a re-set key replaced is gone (the backend deleted it): its room is free
  // before the victims are chosen.
  if (replaced) quota_->forget(*replaced);
  evict(who, quota_->settle(who, ref_id, true, options_.clock()));
}

void RefCache::evict(std::string_view principal, std::vector<QuotaRecord> victims) {
  for (std::size_t i = 0; i < victims.size(); ++i) {
    try {
      // False when the entry was already gone (deleted elsewhere): its record is dropped
      // all the same.
      backend_->remove(victims[i].ref_id);
    } catch (...) {
      victims.erase(victims.begin(), victims.begin() + static_cast<std::ptrdiff_t>(i));
      quota_->restore(principal, std::move(victims));
      return;
    }
  }
}

std::pair<std::string, EntryPtr> RefCache::lookup(std::string_view ref_or_key,
                                                  std::string_view ns) {
  // A ref-shaped argument is never also tried as a key: a missing ref would pay a second
  // round trip (find_by_key) that an existing one does not, and the difference in time
  // would tell an actor which refs exist.
  if (is_ref_id(ref_or_key)) return {std::string(ref_or_key), backend_->get(ref_or_key)};
  if (auto ref = backend_->find_by_key(ns, ref_or_key)) {
    EntryPtr e = backend_->get(*ref);
    return {*ref, std::move(e)};
  }
  return {std::string(), nullptr};
}

EntryPtr RefCache::entry_for(std::string_view ref_or_key, const Actor& actor, Permission required,
                             std::string_view ns) {
  auto [ref, entry] = lookup(ref_or_key, ns);
  if (!entry) throw NotFound("Reference '" + std::string(ref_or_key) + "' not found");
  checker_.check(entry->policy, required, actor, entry->ns);
  return entry;
}

ValuePtr RefCache::resolve(std::string_view ref_or_key, const Actor& actor, std::string_view ns) {
  EntryPtr e = entry_for(ref_or_key, actor, Permission::kRead, ns);
  const json::value* v = &e->value;
  return ValuePtr(std::move(e), v);  // shares ownership with the entry; no copy
}

GetResult RefCache::get(std::string_view ref_or_key, const Actor& actor, const GetOptions& opts) {
  auto [ref, entry] = lookup(ref_or_key, opts.ns);
  const Permission eff =
      entry ? checker_.effective(entry->policy, actor, entry->ns) : Permission::kNone;
  if (entry && !has_all(eff, Permission::kRead) && has_all(eff, Permission::kExecute) &&
      structure_may_be_shown(*entry, opts))
    return structure_of(ref, *entry, eff, opts, options_);
  if (!has_all(eff, Permission::kRead)) {
    // A missing entry may be an async call still running: its task record says. An entry the
    // actor may not read pays for the same lookup, so that both cost the same backend calls
    // in the same order; and a running task the actor may not see is refused before its
    // run's claim is checked (live_view), as if there were none.
    std::optional<TaskRecord> t;
    if (!ref.empty()) t = backend_->get_task(ref);
    if (entry) checker_.check(entry->policy, Permission::kRead, actor, entry->ns);  // throws
    if (t && t->status != TaskStatus::kComplete) {
      const Permission on_task = checker_.effective(t->policy, actor, t->ns);
      if (!has_all(on_task, Permission::kRead) && !has_all(on_task, Permission::kExecute))
        checker_.check(t->policy, Permission::kRead, actor, t->ns);  // throws with the reason
      t = live_view(std::move(t));
      return AsyncTaskResponse::from_task(*t, options_.clock());
    }
    throw NotFound("Reference '" + std::string(ref_or_key) + "' not found");
  }

  return answer(ref, *entry, eff, opts);
}

CacheResponse RefCache::preview(const std::string& ref_id, const EntryPtr& entry,
                                const Actor& actor, const GetOptions& opts) {
  if (!entry) throw InvalidArgument("preview() needs the entry store() gave back");
  const Permission eff = checker_.effective(entry->policy, actor, entry->ns);
  if (!has_all(eff, Permission::kRead) && has_all(eff, Permission::kExecute) &&
      structure_may_be_shown(*entry, opts))
    return structure_of(ref_id, *entry, eff, opts, options_);
  checker_.check(entry->policy, Permission::kRead, actor, entry->ns);  // throws without READ
  return answer(ref_id, *entry, eff, opts);
}

CacheResponse RefCache::answer(const std::string& ref, const CacheEntry& entry, Permission eff,
                               const GetOptions& opts) const {
  const json::value* part = &entry.value;
  std::optional<std::size_t> known_total_chars;
  if (!opts.pointer.empty()) {
    std::string why;
    part = select_part(entry.value, opts.pointer, &why);
    const std::string written = ref + "#" + opts.pointer;
    if (part == nullptr) throw PartNotFound(written, missing_part_message(written, why));
  } else {
    known_total_chars = metadata_count(entry.standard.total_chars);
  }
  std::string custom_name;
  PreviewResult pr = preview_of(*part, opts, known_total_chars, custom_name);

  CacheResponse resp;
  resp.ref_id = ref;
  resp.cache_name = options_.name;
  resp.ns = entry.ns;
  resp.total_items = pr.total_items;
  resp.original_size = pr.original_size;
  resp.preview_size = pr.preview_size;
  resp.preview = std::move(pr.preview);
  resp.preview_strategy = pr.strategy;
  resp.custom_strategy = std::move(custom_name);
  resp.complete = pr.complete;
  resp.omitted = std::move(pr.omitted);
  resp.page = pr.page;
  resp.total_pages = pr.total_pages;
  resp.page_size = pr.page_size;
  resp.available_actions = actions_for(eff);
  return resp;
}

namespace {

// True for a non-empty array whose items are all objects: the values the shape describes best.
bool is_array_of_objects(const json::value& v) {
  if (!v.is_array() || v.get_array().empty()) return false;
  const auto& a = v.get_array();
  return std::all_of(a.begin(), a.end(), [](const json::value& x) { return x.is_object(); });
}

constexpr std::array<std::string_view, 4> kBuiltinStrategies = {"sample", "paginate", "truncate",
                                                                "shape"};

}  // namespace

void RefCache::remember_call(const std::shared_ptr<CachedCall>& call) {
  if (!call) return;
  if (root_ != this) return root_->remember_call(call);
  std::lock_guard lock(calls_mu_);
  calls_[call->name()] = call;
}

std::shared_ptr<CachedCall> RefCache::find_call(std::string_view name) const {
  if (root_ != this) return root_->find_call(name);
  std::lock_guard lock(calls_mu_);
  auto it = calls_.find(name);
  return it == calls_.end() ? nullptr : it->second.lock();
}

void RefCache::register_preview_strategy(std::string name, PreviewFunction fn) {
  if (name.empty()) throw InvalidArgument("A preview strategy needs a name");
  if (!fn) throw InvalidArgument("Preview strategy '" + name + "' has no function");
  if (preview_strategy_from_string(name))
    throw InvalidArgument("'" + name + "' is a built-in preview strategy");
  if (root_ != this) return root_->register_preview_strategy(std::move(name), std::move(fn));
  std::lock_guard lock(strategies_mu_);
  for (const auto& [n, f] : strategies_)
    if (n == name) throw InvalidArgument("Preview strategy '" + name + "' is already registered");
  strategies_.emplace_back(std::move(name), std::make_shared<const PreviewFunction>(std::move(fn)));
}

std::vector<std::string> RefCache::preview_strategy_names() const {
  std::vector<std::string> out(kBuiltinStrategies.begin(), kBuiltinStrategies.end());
  std::lock_guard lock(root_->strategies_mu_);
  for (const auto& [n, f] : root_->strategies_) out.push_back(n);
  return out;
}

PreviewResult RefCache::preview_of(const json::value& part, const GetOptions& opts,
                                   std::optional<std::size_t> known_total_chars,
                                   std::string& custom_name) const {
  PreviewRequest req;
  req.max_size = opts.max_size ? *opts.max_size : options_.preview.max_size;
  req.page = opts.page;
  req.page_size = opts.page_size;
  req.known_total_chars = known_total_chars;
  std::optional<PreviewStrategy> asked = opts.strategy;
  if (!opts.strategy_name.empty()) {
    asked = preview_strategy_from_string(opts.strategy_name);
    if (!asked) {
      std::shared_ptr<const PreviewFunction> fn;
      {
        std::lock_guard lock(root_->strategies_mu_);
        for (const auto& [n, f] : root_->strategies_)
          if (n == opts.strategy_name) fn = f;
      }
      if (!fn) {
        std::string known;
        for (const auto& n : preview_strategy_names()) known += (known.empty() ? "" : ", ") + n;
        throw InvalidArgument("Unknown preview strategy '" + opts.strategy_name +
                              "'; known strategies: " + known);
      }
      custom_name = opts.strategy_name;
      return generate_custom_preview(part, *fn, req, options_.preview);
    }
  }
  req.strategy = asked ? *asked : options_.preview.default_strategy;
  // An array of objects too large to show whole is described by its shape, unless the caller
  // asked for a strategy or a page, or the cache's default is not sample.
  if (!asked && !opts.page && !opts.page_size && req.strategy == PreviewStrategy::kSample &&
      is_array_of_objects(part)) {
    const std::size_t chars =
        known_total_chars ? *known_total_chars : jsonio::measure_code_points(part);
    const bool fits =
        sizes_from_characters(options_.preview)
            ? to_units(chars, options_.preview) <= req.max_size
            : chars / 16 <= req.max_size && measure_units(part, options_.preview) <= req.max_size;
    if (!fits) req.strategy = PreviewStrategy::kShape;
  }
  // The reference switches sample to paginate when a page is asked for; truncate stays.
  if ((opts.page || opts.page_size) && req.strategy == PreviewStrategy::kSample)
    req.strategy = PreviewStrategy::kPaginate;
  return generate_preview(part, req, options_.preview);
}

bool RefCache::remove(std::string_view ref_or_key, const Actor& actor, std::string_view ns) {
  auto [ref, entry] = lookup(ref_or_key, ns);
  if (!entry) return false;
  checker_.check(entry->policy, Permission::kDelete, actor, entry->ns);
  const bool removed = backend_->remove(ref);
  if (quota_) quota_->forget(ref);
  return removed;
}

bool RefCache::exists(std::string_view ref_or_key, const Actor& actor, std::string_view ns) {
  auto [ref, entry] = lookup(ref_or_key, ns);
  if (!entry) return false;
  return checker_.effective(entry->policy, actor, entry->ns) != Permission::kNone;
}

std::size_t RefCache::clear(std::optional<std::string_view> ns) {
  const std::size_t n = backend_->clear(ns);
  if (quota_) quota_->forget_namespace(ns);
  return n;
}

ListPage RefCache::list(std::optional<std::string_view> ns, const Actor& actor,
                        std::string_view cursor, std::size_t limit) {
  ListPage raw = backend_->list(ns, cursor, limit);
  ListPage out;
  out.next_cursor = std::move(raw.next_cursor);
  for (auto& id : raw.ref_ids) {
    EntryPtr e = backend_->get(id);
    if (!e) continue;
    const Permission eff = checker_.effective(e->policy, actor, e->ns);
    if (has_all(eff, Permission::kRead) || has_all(eff, Permission::kExecute))
      out.ref_ids.push_back(std::move(id));
  }
  return out;
}

std::optional<TaskRecord> RefCache::task(std::string_view ref_id) {
  return live_view(backend_->get_task(ref_id));
}

std::optional<TaskRecord> RefCache::live_view(std::optional<TaskRecord> t) {
  if (!t || !t->leased || t->is_terminal()) return t;
  if (backend_->claim_holder(task_lease_claim(t->ref_id))) return t;
  // Not written back: if the run is alive after all (its renewals failed for longer than a
  // lease while the backend was away), its next save still tells the truth.
  t->status = TaskStatus::kFailed;
  t->error = "the server running this task (" + t->worker + ") stopped before it finished";
  t->completed_at = options_.clock();
  return t;
}

bool RefCache::cancel(std::string_view ref_id, const Actor& actor) {
  auto t = backend_->get_task(ref_id);
  if (!t || t->is_terminal()) return false;
  Permission eff = checker_.effective(t->policy, actor, t->ns);
  if (!has_all(eff, Permission::kRead) && !has_all(eff, Permission::kExecute))
    checker_.check(t->policy, Permission::kRead, actor, t->ns);
  t->cancel_requested = true;
  t->updated_at = options_.clock();
  backend_->put_task(*t);
  task_pool().request_cancel(ref_id);
  return true;
}

RefCache::ClaimKeeper& RefCache::claim_keeper() {
  std::call_once(keeper_once_, [this] { keeper_ = std::make_unique<ClaimKeeper>(*backend_); });
  return *keeper_;
}

RefCache::TaskPool& RefCache::task_pool() {
  if (root_ != this) return root_->task_pool();
  std::call_once(pool_once_, [this] { pool_ = std::make_unique<TaskPool>(options_.task_workers); });
  return *pool_;
}

}  // namespace refcache
