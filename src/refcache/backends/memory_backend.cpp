#include "refcache/memory_backend.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>

#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"
#include "string_table.hpp"

namespace refcache {
namespace json = boost::json;

namespace {

// Heterogeneous lookup so that string_view keys need no allocation.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringEq = std::equal_to<>;

// The bindings table's key for (ns, key): ns, '\0' (which cannot occur in a namespace given
// by a caller as text), key. On the stack when it fits, as it nearly always does.
std::size_t binding_key_size(std::string_view ns, std::string_view key) {
  return ns.size() + 1 + key.size();
}
// Writes the binding_key_size() bytes of the key at `out`.
void write_binding_key(std::string_view ns, std::string_view key, char* out) {
  std::memcpy(out, ns.data(), ns.size());
  out[ns.size()] = '\0';
  std::memcpy(out + ns.size() + 1, key.data(), key.size());
}

class BindingKey {
 public:
  BindingKey(std::string_view ns, std::string_view key) {
    const std::size_t n = binding_key_size(ns, key);
    char* p = buf_;
    if (n > sizeof buf_) {
      long_.resize(n);
      p = long_.data();
    }
    write_binding_key(ns, key, p);
    view_ = std::string_view(p, n);
  }
  BindingKey(const BindingKey&) = delete;
  BindingKey& operator=(const BindingKey&) = delete;
  std::string_view view() const { return view_; }

 private:
  char buf_[120];
  std::string long_;
  std::string_view view_;
};

// The compact JSON text of the entry's value at its exact length: a node keeps one per
// entry, and room to spare would be kept with it. Written into this thread's buffer, which
// keeps the capacity of the largest value written (up to 4 MiB), then copied once.
std::string compact_text(const CacheEntry& e) {
  thread_local std::string scratch;
  scratch.clear();
  const std::size_t hint = metadata_count(e.standard.total_size).value_or(192) + 64;
  jsonio::write_measured(e.value, scratch, hint);
  std::string text(scratch);
  if (scratch.capacity() > (std::size_t{4} << 20)) std::string().swap(scratch);
  return text;
}

std::size_t value_bytes(const CacheEntry& e) {
  if (auto n = metadata_count(e.standard.total_size)) return *n;
  return jsonio::measure(e.value).bytes;
}

// The standard metadata members as a node holds them: four values and which of them are
// present, 72 bytes where four std::optionals take 96.
class PackedStandard {
 public:
  // Replaces the held members with those of `m`, in place. Scalars (the counts, a null tool
  // name) are stored directly: json::value's copy assignment builds a temporary and swaps,
  // which was a quarter of the node's cost in a set.
  void assign(const StandardMetadata& m) {
    const std::optional<json::value>* in[] = {&m.tool_name, &m.total_items, &m.total_size,
                                              &m.total_chars};
    present_ = 0;
    for (unsigned i = 0; i < 4; ++i) {
      if (!*in[i]) {
        values_[i].emplace_null();
        continue;
      }
      const json::value& v = **in[i];
      switch (v.kind()) {
        case json::kind::null:
          values_[i].emplace_null();
          break;
        case json::kind::int64:
          values_[i].emplace_int64() = v.get_int64();
          break;
        case json::kind::uint64:
          values_[i].emplace_uint64() = v.get_uint64();
          break;
        default:
          values_[i] = v;
      }
      present_ |= 1u << i;
    }
  }
  StandardMetadata unpack() const {
    StandardMetadata m;
    std::optional<json::value>* out[] = {&m.tool_name, &m.total_items, &m.total_size,
                                         &m.total_chars};
    for (unsigned i = 0; i < 4; ++i)
      if (present_ & (1u << i)) *out[i] = values_[i];
    return m;
  }

 private:
  std::array<json::value, 4> values_;
  unsigned present_ = 0;
};

// Ref ids in insertion order, keyed by a sequence number that only grows. Appends are
// amortized O(1) into a deque of slots (no node per entry: a tree of 1.5M nodes cost two
// allocations per set and 64 bytes per entry). A deque rather than a vector because it
// grows by adding blocks: a vector's growth copied the whole index into fresh memory, a
// tenth of a W1 set's time at 600,000 entries, most of it page faults on the new array. An
// erase leaves a hole that paging skips, and the holes are squeezed out once they are half
// the slots, so that a page never walks more than twice its length of holes.
class SeqIndex {
 public:
  struct Slot {
    std::uint64_t seq;
    const std::string_view* key;  // null: erased
  };
  using const_iterator = std::deque<Slot>::const_iterator;

  void append(std::uint64_t seq, const std::string_view* key) {
    slots_.push_back({seq, key});
    ++live_;
  }
  void erase(std::uint64_t seq) {
    auto it = std::lower_bound(slots_.begin(), slots_.end(), seq,
                               [](const Slot& a, std::uint64_t b) { return a.seq < b; });
    if (it == slots_.end() || it->seq != seq || !it->key) return;
    it->key = nullptr;
    --live_;
    if (live_ == 0) {
      slots_.clear();
    } else if (slots_.size() >= 64 && live_ <= slots_.size() / 2) {
      std::erase_if(slots_, [](const Slot& sl) { return sl.key == nullptr; });
      slots_.shrink_to_fit();
    }
  }
  // The first slot (live or a hole) after sequence number `after`.
  const_iterator upper_bound(std::uint64_t after) const {
    return std::upper_bound(slots_.begin(), slots_.end(), after,
                            [](std::uint64_t a, const Slot& b) { return a < b.seq; });
  }
  const_iterator begin() const { return slots_.begin(); }
  const_iterator end() const { return slots_.end(); }
  std::size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  void clear() {
    slots_.clear();
    slots_.shrink_to_fit();
    live_ = 0;
  }

 private:
  std::deque<Slot> slots_;  // ascending seq
  std::size_t live_ = 0;
};

}  // namespace

struct MemoryBackend::State {
  using BindingTable = detail::StringTable<const std::string_view*>;
  struct Node {
    // With freezing off, `entry` is the stored entry. With freezing on (the default) it is
    // null: the value and metadata live as compact JSON text, about a third of the memory
    // of a parsed value, and the other fields below (no second CacheEntry per entry, which
    // cost an allocation and ~300 bytes); `hot` holds the parsed entry while it is in the
    // hot set. In both modes the fields below hold the entry's namespace, policy and times.
    EntryPtr entry;
    std::string ns;
    // Shared with the nodes around it that carry an equal policy (most entries carry the
    // cache's default): 16 bytes a node instead of ~160.
    std::shared_ptr<const AccessPolicy> policy;
    double created_at = 0;
    std::optional<double> expires_at;
    std::string frozen_value;
    // The metadata: the standard members as they are (no text to write or parse for them),
    // the others as JSON text, empty when there are none.
    PackedStandard standard;
    std::string frozen_metadata;
    EntryPtr hot;
    std::list<const std::string_view*>::iterator hot_pos;
    std::size_t bytes = 0;
    // The (ns, key) binding that names this ref, if any. A binding names exactly the entry
    // whose node points back at it: erasing the entry erases the binding.
    BindingTable::Element* binding = nullptr;
    std::list<const std::string_view*>::iterator lru;
    std::uint64_t seq = 0;  // insertion order; the listing cursor

    bool is_expired(double now) const { return expires_at && now >= *expires_at; }
  };
  using EntryMap = detail::StringTable<Node>;
  using EntryIt = EntryMap::Element*;

  mutable std::mutex mu;
  EntryMap entries;
  // Listing indexes in insertion order: per namespace and for the whole store. Keys are
  // sequence numbers, so every insert is an append, and list(ns) costs O(log n + page),
  // paging by the last sequence number returned. Slots point to the keys of `entries`, which
  // are stable while the element lives.
  std::unordered_map<std::string, SeqIndex, StringHash, StringEq> by_ns;
  SeqIndex all;
  std::uint64_t next_seq = 1;
  // The policy of the last set, which the next set shares if its policy is equal.
  std::shared_ptr<const AccessPolicy> last_policy;
  // BindingKey -> the key (ref id) of the entry it names, a pointer into `entries`, whose
  // keys stay put while their element lives (no second copy of the ref id per binding).
  BindingTable bindings;
  struct Claim {
    std::string owner;
    double expires_at;
  };
  std::unordered_map<std::string, Claim, StringHash, StringEq> claims;
  std::unordered_map<std::string, TaskRecord, StringHash, StringEq> tasks;
  std::list<const std::string_view*> lru;      // front = most recently used
  std::list<const std::string_view*> hot_lru;  // parsed entries, front = most recently used
  std::size_t hot_bytes = 0;
  std::size_t bytes = 0;
  bool bounded = false;
  BackendStats stats;

  void drop_hot(Node& n) {
    if (!n.hot) return;
    hot_lru.erase(n.hot_pos);
    hot_bytes -= n.bytes;
    n.hot.reset();
  }
  // Makes `n` (whose key is `*key`) the most recently used hot entry and trims the hot set.
  // The EntryPtrs of trimmed entries are moved to `released` so that they are destroyed
  // outside the lock.
  void make_hot(Node& n, const std::string_view* key, EntryPtr parsed, std::size_t max_entries,
                std::size_t max_bytes, std::vector<EntryPtr>& released) {
    if (n.hot) {
      hot_lru.splice(hot_lru.begin(), hot_lru, n.hot_pos);
      return;
    }
    n.hot = std::move(parsed);
    hot_lru.push_front(key);
    n.hot_pos = hot_lru.begin();
    hot_bytes += n.bytes;
    while (hot_lru.size() > 1 && (hot_lru.size() > max_entries || hot_bytes > max_bytes)) {
      auto victim = entries.find(*hot_lru.back());
      released.push_back(std::move(victim->second.hot));
      victim->second.hot.reset();
      hot_bytes -= victim->second.bytes;
      hot_lru.pop_back();
    }
  }

  // Adds an entry to the listing indexes (lock held).
  void index(EntryIt it, const std::string& ns) {
    it->second.seq = next_seq++;
    auto& idx = by_ns[ns];
    idx.append(it->second.seq, &it->first);
    all.append(it->second.seq, &it->first);
  }
  void unindex(EntryIt it, const std::string& ns) {
    auto nsit = by_ns.find(ns);
    if (nsit != by_ns.end()) {
      nsit->second.erase(it->second.seq);
      if (nsit->second.empty()) by_ns.erase(nsit);
    }
    all.erase(it->second.seq);
  }

  // Removes one entry (lock held). Returns its namespace for the event.
  std::string erase(EntryIt it) {
    std::string ns = it->second.ns;
    unindex(it, ns);
    if (it->second.binding) bindings.erase(it->second.binding);
    if (bounded) lru.erase(it->second.lru);
    drop_hot(it->second);
    bytes -= it->second.bytes;
    entries.erase(it);
    return ns;
  }
};

MemoryBackend::MemoryBackend(MemoryBackendOptions options)
    : state_(std::make_unique<State>()), options_(options) {
  state_->bounded = options_.max_entries != 0 || options_.max_bytes != 0;
}

MemoryBackend::~MemoryBackend() = default;

EntryPtr MemoryBackend::get(std::string_view ref_id) {
  std::vector<EntryPtr> released;
  std::string value_text, metadata_text;
  // The entry's other fields, copied under the lock when it is cold. Held by pointer: a hot
  // read, the common case, then only checks a null (an inline std::optional of them cost
  // W3 ~15%).
  struct Fields {
    std::string ns;
    PackedStandard standard;
    std::shared_ptr<const AccessPolicy> policy;
    double created_at;
    std::optional<double> expires_at;
  };
  std::unique_ptr<Fields> fields;
  std::uint64_t seq = 0;
  {
    std::unique_lock lock(state_->mu);
    auto& s = *state_;
    ++s.stats.gets;
    auto it = s.entries.find(ref_id);
    if (it == s.entries.end()) {
      ++s.stats.misses;
      return nullptr;
    }
    if (it->second.is_expired(options_.clock())) {
      std::string id(it->first);
      std::string gone_ns = s.erase(it);
      ++s.stats.misses;
      ++s.stats.expirations;
      lock.unlock();
      emit({ChangeKind::kExpired, std::move(id), std::move(gone_ns)});
      return nullptr;
    }
    if (s.bounded) s.lru.splice(s.lru.begin(), s.lru, it->second.lru);
    ++s.stats.hits;
    if (!options_.freeze_values) return it->second.entry;
    if (it->second.hot) {
      s.hot_lru.splice(s.hot_lru.begin(), s.hot_lru, it->second.hot_pos);
      return it->second.hot;
    }
    // Cold: parse outside the lock (a large value takes a while) from a copy of the text.
    value_text = it->second.frozen_value;
    metadata_text = it->second.frozen_metadata;
    fields = std::make_unique<Fields>(Fields{it->second.ns, it->second.standard, it->second.policy,
                                             it->second.created_at, it->second.expires_at});
    seq = it->second.seq;
  }
  auto thawed = std::make_shared<CacheEntry>();
  const jsonio::ParseLimits unlimited{.max_depth = 1u << 20};
  std::error_code ec;
  thawed->value = jsonio::parse(value_text, ec, unlimited);
  if (ec)
    throw CorruptEntry("memory backend: stored value of " + std::string(ref_id) +
                       " does not parse: " + ec.message());
  if (!metadata_text.empty()) {
    json::value meta = jsonio::parse(metadata_text, ec, unlimited);
    if (!ec && meta.is_object()) thawed->metadata = std::move(meta.get_object());
  }
  thawed->standard = fields->standard.unpack();
  thawed->ns = std::move(fields->ns);
  thawed->policy = *fields->policy;
  thawed->created_at = fields->created_at;
  thawed->expires_at = fields->expires_at;
  EntryPtr result = std::move(thawed);
  {
    std::lock_guard lock(state_->mu);
    auto& s = *state_;
    auto it = s.entries.find(ref_id);
    if (it != s.entries.end() && it->second.seq == seq) {
      if (it->second.hot) return it->second.hot;  // another reader thawed it first
      s.make_hot(it->second, &it->first, result, options_.hot_entries, options_.hot_bytes,
                 released);
    }
  }
  return result;
}

std::optional<std::string> MemoryBackend::set(std::string_view ref_id, EntryPtr entry,
                                              const KeyBinding* binding) {
  if (!entry) throw InvalidArgument("MemoryBackend::set: null entry");
  std::vector<ChangeEvent> events;
  std::vector<EntryPtr> released;  // destroyed after the lock is released
  std::optional<std::string> replaced;
  std::size_t nbytes = 0;
  // What the node keeps of the entry: its text and fields when freezing, else the entry.
  EntryPtr stored;
  std::string value_text, metadata_text;
  if (options_.freeze_values) {
    value_text = compact_text(*entry);
    if (!entry->metadata.empty()) metadata_text = jsonio::to_string(entry->metadata);
    nbytes = value_text.size();
  } else {
    stored = entry;
    nbytes = value_bytes(*stored);
  }
  // Hashed outside the lock; the probes' first lines are fetched together as the lock is
  // taken (a binding's, and the entry's for an id from elsewhere, are misses in a table
  // larger than the cache: they overlap).
  const std::size_t ref_hash = state_->entries.hash_of(ref_id);
  std::optional<BindingKey> bkey;
  std::size_t bkey_hash = 0;
  if (binding) {
    bkey.emplace(binding->ns, binding->key);
    bkey_hash = state_->bindings.hash_of(bkey->view());
  }
  {
    std::lock_guard lock(state_->mu);
    auto& s = *state_;
    s.entries.prefetch(ref_hash);
    if (binding) s.bindings.prefetch(bkey_hash);
    ++s.stats.sets;
    auto [it, inserted] = s.entries.try_emplace(ref_id, ref_hash);
    if (!inserted) {
      // Overwrite in place: fix the namespace index if the namespace changed.
      if (it->second.ns != entry->ns) {
        s.unindex(it, it->second.ns);
        s.index(it, entry->ns);
      }
      s.bytes -= it->second.bytes;
      if (s.bounded) s.lru.splice(s.lru.begin(), s.lru, it->second.lru);
      events.push_back({ChangeKind::kUpdated, std::string(it->first), entry->ns});
    } else {
      s.index(it, entry->ns);
      if (s.bounded) {
        s.lru.push_front(&it->first);
        it->second.lru = s.lru.begin();
      }
    }
    s.drop_hot(it->second);
    it->second.entry = std::move(stored);
    it->second.ns = entry->ns;
    if (!s.last_policy || !(*s.last_policy == entry->policy))
      s.last_policy = std::make_shared<const AccessPolicy>(entry->policy);
    it->second.policy = s.last_policy;
    it->second.created_at = entry->created_at;
    it->second.expires_at = entry->expires_at;
    it->second.bytes = nbytes;
    s.bytes += nbytes;
    if (options_.freeze_values) {
      it->second.frozen_value = std::move(value_text);
      it->second.standard.assign(entry->standard);
      it->second.frozen_metadata = std::move(metadata_text);
      // Not made hot: the writer already holds the parsed entry (a cached call answers from
      // it and may move its value into the answer), and a value that is never read again
      // would only push a read one out of the hot set. The first get() thaws it.
    }

    if (binding) {
      auto [b, fresh] = s.bindings.try_emplace(bkey->view(), bkey_hash);
      if (!fresh && b->second != &it->first) {
        // The key named another ref: that entry is replaced. Its node lets go of the binding
        // first, so that erasing it leaves the binding (now this ref's) in place.
        std::string old(*b->second);
        auto oit = s.entries.find(old);
        oit->second.binding = nullptr;
        std::string ns = s.erase(oit);
        events.push_back({ChangeKind::kDeleted, old, std::move(ns)});
        replaced = std::move(old);
      }
      b->second = &it->first;
      // Erasing another element leaves `it` where it is (elements never move).
      if (it->second.binding && it->second.binding != b) s.bindings.erase(it->second.binding);
      it->second.binding = b;
    }

    // Evict least recently used entries beyond the bounds (never the one just written).
    if (s.bounded) {
      while ((options_.max_entries && s.entries.size() > options_.max_entries) ||
             (options_.max_bytes && s.bytes > options_.max_bytes && s.entries.size() > 1)) {
        const std::string_view* victim = s.lru.back();
        if (*victim == ref_id) break;
        auto vit = s.entries.find(*victim);
        std::string id(vit->first);
        std::string ns = s.erase(vit);
        ++s.stats.evictions;
        events.push_back({ChangeKind::kExpired, std::move(id), std::move(ns)});
      }
    }
  }
  for (const auto& e : events) emit(e);
  return replaced;
}

bool MemoryBackend::remove(std::string_view ref_id) {
  std::string ns;
  {
    std::lock_guard lock(state_->mu);
    auto it = state_->entries.find(ref_id);
    if (it == state_->entries.end()) return false;
    ++state_->stats.deletes;
    ns = state_->erase(it);
  }
  emit({ChangeKind::kDeleted, std::string(ref_id), std::move(ns)});
  return true;
}

bool MemoryBackend::exists(std::string_view ref_id) {
  return get(ref_id) != nullptr;
}

std::size_t MemoryBackend::clear(std::optional<std::string_view> ns) {
  std::size_t n = 0;
  {
    std::lock_guard lock(state_->mu);
    auto& s = *state_;
    if (!ns) {
      n = s.entries.size();
      s.entries.clear();
      s.by_ns.clear();
      s.all.clear();
      s.bindings.clear();
      s.lru.clear();
      // The hot list points at keys of the entries just freed (found by fuzz_memory_backend).
      s.hot_lru.clear();
      s.hot_bytes = 0;
      s.bytes = 0;
    } else {
      auto nsit = s.by_ns.find(*ns);
      if (nsit != s.by_ns.end()) {
        std::vector<std::string> ids;
        ids.reserve(nsit->second.size());
        for (const auto& slot : nsit->second)
          if (slot.key) ids.emplace_back(*slot.key);
        for (const auto& id : ids) {
          auto it = s.entries.find(id);
          if (it != s.entries.end()) {
            s.erase(it);
            ++n;
          }
        }
      }
    }
    s.stats.deletes += n;
  }
  emit({ChangeKind::kCleared, "", ns ? std::string(*ns) : std::string()});
  return n;
}

ListPage MemoryBackend::list(std::optional<std::string_view> ns, std::string_view cursor,
                             std::size_t limit) {
  if (limit == 0) limit = 1;
  std::uint64_t after = 0;
  if (!cursor.empty()) {
    auto res = std::from_chars(cursor.data(), cursor.data() + cursor.size(), after);
    if (res.ec != std::errc() || res.ptr != cursor.data() + cursor.size())
      throw InvalidArgument("invalid listing cursor");
  }
  ListPage page;
  std::vector<ChangeEvent> events;
  {
    std::lock_guard lock(state_->mu);
    auto& s = *state_;
    const double now = options_.clock();
    const SeqIndex* idx = &s.all;
    if (ns) {
      auto nsit = s.by_ns.find(*ns);
      idx = nsit == s.by_ns.end() ? nullptr : &nsit->second;
    }
    std::vector<std::string> expired;
    if (idx) {
      auto it = idx->upper_bound(after);
      std::uint64_t last = after;
      for (; it != idx->end() && page.ref_ids.size() < limit; ++it) {
        if (!it->key) continue;  // a hole left by an erase
        last = it->seq;
        auto e = s.entries.find(*it->key);
        if (e->second.is_expired(now))
          expired.emplace_back(*it->key);
        else
          page.ref_ids.emplace_back(*it->key);
      }
      // More only if a live slot remains past the page.
      while (it != idx->end() && !it->key) ++it;
      if (it != idx->end()) page.next_cursor = std::to_string(last);
    }
    for (const auto& id : expired) {
      auto it = s.entries.find(id);
      if (it == s.entries.end()) continue;
      std::string ens = s.erase(it);
      ++s.stats.expirations;
      events.push_back({ChangeKind::kExpired, id, std::move(ens)});
    }
  }
  for (const auto& e : events) emit(e);
  return page;
}

std::optional<std::string> MemoryBackend::find_by_key(std::string_view ns, std::string_view key) {
  std::string ref;
  {
    std::lock_guard lock(state_->mu);
    auto b = state_->bindings.find(BindingKey(ns, key).view());
    if (b == state_->bindings.end()) return std::nullopt;
    ref = *b->second;
  }
  if (!get(ref)) return std::nullopt;  // expired entries take their binding with them
  return ref;
}

bool MemoryBackend::try_claim(std::string_view name, std::string_view owner,
                              std::chrono::milliseconds ttl) {
  std::lock_guard lock(state_->mu);
  double now = options_.clock();
  double until = now + static_cast<double>(ttl.count()) / 1000.0;
  auto [it, fresh] =
      state_->claims.try_emplace(std::string(name), State::Claim{std::string(owner), until});
  if (fresh) return true;
  if (it->second.owner == owner || it->second.expires_at <= now) {
    it->second = State::Claim{std::string(owner), until};
    return true;
  }
  return false;
}

void MemoryBackend::release_claim(std::string_view name, std::string_view owner) {
  std::lock_guard lock(state_->mu);
  auto it = state_->claims.find(name);
  if (it != state_->claims.end() && it->second.owner == owner) state_->claims.erase(it);
}

std::optional<std::string> MemoryBackend::claim_holder(std::string_view name) {
  std::lock_guard lock(state_->mu);
  auto it = state_->claims.find(name);
  if (it == state_->claims.end() || it->second.expires_at <= options_.clock()) return std::nullopt;
  return it->second.owner;
}

void MemoryBackend::put_task(const TaskRecord& task) {
  std::lock_guard lock(state_->mu);
  state_->tasks.insert_or_assign(task.ref_id, task);
}

std::optional<TaskRecord> MemoryBackend::get_task(std::string_view ref_id) {
  std::lock_guard lock(state_->mu);
  auto it = state_->tasks.find(ref_id);
  if (it == state_->tasks.end()) return std::nullopt;
  if (it->second.expires_at && options_.clock() >= *it->second.expires_at) {
    state_->tasks.erase(it);
    return std::nullopt;
  }
  return it->second;
}

bool MemoryBackend::remove_task(std::string_view ref_id) {
  std::lock_guard lock(state_->mu);
  auto it = state_->tasks.find(ref_id);
  if (it == state_->tasks.end()) return false;
  state_->tasks.erase(it);
  return true;
}

BackendStats MemoryBackend::stats() const {
  std::lock_guard lock(state_->mu);
  BackendStats st = state_->stats;
  st.entries = static_cast<std::int64_t>(state_->entries.size());
  st.bytes = static_cast<std::int64_t>(state_->bytes);
  return st;
}

}  // namespace refcache
