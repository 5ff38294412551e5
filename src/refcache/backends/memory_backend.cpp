#include "refcache/memory_backend.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <boost/unordered/unordered_flat_map.hpp>
#include <charconv>
#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"
#include "thread_annotations.hpp"

namespace refcache {
namespace json = boost::json;

namespace {

// Heterogeneous lookup: a string_view finds a std::string key without building one.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
// The key of a table whose values hold their own key strings (and stay where they are): a
// view of the string and its hash. Growing the table rehashes from the hashes in its slots
// instead of reading every value's string, a miss to memory each in a large store (W1's
// sets run about a quarter slower without it).
struct HashedView {
  std::string_view view;
  std::size_t hash;
};
struct HashedViewHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return StringHash{}(s); }
  std::size_t operator()(const HashedView& k) const { return k.hash; }
};
struct HashedViewEq {
  using is_transparent = void;
  bool operator()(const HashedView& a, const HashedView& b) const { return a.view == b.view; }
  bool operator()(std::string_view a, const HashedView& b) const { return a == b.view; }
  bool operator()(const HashedView& a, std::string_view b) const { return a.view == b; }
};
template <class V>
using ViewMap = boost::unordered_flat_map<HashedView, V, HashedViewHash, HashedViewEq>;
HashedView hashed(std::string_view s) {
  return {s, StringHash{}(s)};
}

// The bindings table's key for (ns, key): ns, '\0' (which cannot occur in a namespace given
// by a caller as text), key.
std::string binding_key(std::string_view ns, std::string_view key) {
  std::string k;
  k.reserve(ns.size() + 1 + key.size());
  k.append(ns);
  k.push_back('\0');
  k.append(key);
  return k;
}

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
  // name) are stored directly, without the temporary and swap of json::value's copy
  // assignment.
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

// Ref ids in insertion order, keyed by a sequence number that only grows, so that every
// insert is an append and a listing pages by the last number it returned. A deque of slots
// (no node per entry), which grows by adding blocks rather than by copying itself. An erase
// leaves a hole that paging skips, and the holes are squeezed out once they are half the
// slots, so that a page never walks more than twice its length of holes.
template <class T>
class SeqIndex {
 public:
  struct Slot {
    std::uint64_t seq;
    T* item;  // null: erased
  };
  using const_iterator = typename std::deque<Slot>::const_iterator;

  void append(std::uint64_t seq, T* item) {
    slots_.push_back({seq, item});
    ++live_;
  }
  void erase(std::uint64_t seq) {
    auto it = std::lower_bound(slots_.begin(), slots_.end(), seq,
                               [](const Slot& a, std::uint64_t b) { return a.seq < b; });
    if (it == slots_.end() || it->seq != seq || !it->item) return;
    it->item = nullptr;
    --live_;
    if (live_ == 0) {
      slots_.clear();
    } else if (slots_.size() >= 64 && live_ <= slots_.size() / 2) {
      std::erase_if(slots_, [](const Slot& sl) { return sl.item == nullptr; });
      slots_.shrink_to_fit();
    }
  }
  // The first slot (live or a hole) after sequence number `after`.
  const_iterator upper_bound(std::uint64_t after) const {
    return std::upper_bound(slots_.begin(), slots_.end(), after,
                            [](std::uint64_t a, const Slot& b) { return a < b.seq; });
  }
  const_iterator end() const { return slots_.end(); }
  std::size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  std::vector<T*> items() const {
    std::vector<T*> out;
    out.reserve(live_);
    for (const Slot& s : slots_)
      if (s.item) out.push_back(s.item);
    return out;
  }

 private:
  std::deque<Slot> slots_;  // ascending seq
  std::size_t live_ = 0;
};

}  // namespace

// Everything the backend holds, guarded by one mutex. Each entry is a Node of its own
// allocation, which never moves while it lives: the tables key views of the strings it holds
// (its ref id, its binding's key), and the listing indexes and LRU lists point at it.
struct MemoryBackend::State {
  explicit State(bool bounded_store) : bounded(bounded_store) {}

  struct Node {
    std::string id;  // the ref id; `entries` keys a view of it
    // With freezing off, `entry` is the stored entry. With freezing on (the default) it is
    // null: the value and metadata live as compact JSON text, about a third of the memory
    // of a parsed value, and the fields below (no second CacheEntry per entry); `hot`
    // holds the parsed entry while it is in the hot set. In both modes the fields below hold
    // the entry's namespace, policy and times.
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
    std::size_t bytes = 0;  // compact-JSON bytes of the value
    EntryPtr hot;
    std::list<Node*>::iterator hot_pos;
    // binding_key() of the (ns, key) bound to this ref, or empty; `bindings` keys a view of
    // it. A binding names exactly the entry that holds its key: erasing the entry erases it.
    std::string binding;
    std::list<Node*>::iterator lru;
    std::uint64_t seq = 0;  // insertion order; the listing cursor

    bool is_expired(double now) const { return expires_at && now >= *expires_at; }
  };
  using Index = SeqIndex<Node>;
  struct Claim {
    std::string owner;
    double expires_at;
  };

  refcache_sync::Mutex mu;
  ViewMap<std::unique_ptr<Node>> entries GUARDED_BY(mu);  // Node::id -> node
  ViewMap<Node*> bindings GUARDED_BY(mu);                 // Node::binding -> node
  // Listing indexes in insertion order, per namespace and for the whole store: list(ns)
  // costs O(log n + page) whatever the store's size.
  StringMap<Index> by_ns GUARDED_BY(mu);
  Index all GUARDED_BY(mu);
  std::uint64_t next_seq GUARDED_BY(mu) = 1;
  // The policy of the last set, which the next set shares if its policy is equal.
  std::shared_ptr<const AccessPolicy> last_policy GUARDED_BY(mu);
  StringMap<Claim> claims GUARDED_BY(mu);
  StringMap<TaskRecord> tasks GUARDED_BY(mu);
  // Entries by last use, front = most recent; kept only when the store is bounded.
  std::list<Node*> lru GUARDED_BY(mu);
  // Parsed (hot) entries by last read, front = most recent.
  std::list<Node*> hot_lru GUARDED_BY(mu);
  std::size_t hot_bytes GUARDED_BY(mu) = 0;
  std::size_t bytes GUARDED_BY(mu) = 0;  // compact-JSON bytes of the values held
  BackendStats stats GUARDED_BY(mu);
  const bool bounded;  // max_entries or max_bytes set

  // The node of `key` (a string_view, or a HashedView whose hash is known), or null.
  template <class K>
  Node* find(const K& key) REQUIRES(mu) {
    auto it = entries.find(key);
    return it == entries.end() ? nullptr : it->second.get();
  }

  // Takes `n` out of the hot set; its parsed entry goes to `released`, to be destroyed
  // after the lock is let go.
  void drop_hot(Node& n, std::vector<EntryPtr>& released) REQUIRES(mu) {
    if (!n.hot) return;
    hot_lru.erase(n.hot_pos);
    hot_bytes -= n.bytes;
    released.push_back(std::move(n.hot));
    n.hot.reset();
  }
  // Makes `n` the most recently used hot entry and trims the hot set, moving trimmed
  // entries to `released`.
  void make_hot(Node& n, EntryPtr parsed, std::size_t max_entries, std::size_t max_bytes,
                std::vector<EntryPtr>& released) REQUIRES(mu) {
    if (n.hot) {
      hot_lru.splice(hot_lru.begin(), hot_lru, n.hot_pos);
      return;
    }
    n.hot = std::move(parsed);
    hot_lru.push_front(&n);
    n.hot_pos = hot_lru.begin();
    hot_bytes += n.bytes;
    while (hot_lru.size() > 1 && (hot_lru.size() > max_entries || hot_bytes > max_bytes))
      drop_hot(*hot_lru.back(), released);
  }

  // Lists node `n` under namespace `ns`.
  void index(Node& n, const std::string& ns) REQUIRES(mu) {
    n.seq = next_seq++;
    by_ns[ns].append(n.seq, &n);
    all.append(n.seq, &n);
  }
  // Takes node `n` out of the listings of its namespace, n.ns.
  void unindex(const Node& n) REQUIRES(mu) {
    auto nsit = by_ns.find(n.ns);
    if (nsit != by_ns.end()) {
      nsit->second.erase(n.seq);
      if (nsit->second.empty()) by_ns.erase(nsit);
    }
    all.erase(n.seq);
  }
  // Binds `bkey` to node `n`, which lets go of any other binding it had.
  void bind(Node& n, std::string bkey) REQUIRES(mu) {
    if (n.binding == bkey) return;
    unbind(n);
    n.binding = std::move(bkey);
    bindings.emplace(hashed(n.binding), &n);
  }
  // Erases the binding that names node `n`, if any.
  void unbind(Node& n) REQUIRES(mu) {
    if (n.binding.empty()) return;
    bindings.erase(bindings.find(std::string_view(n.binding)));
    n.binding.clear();
  }

  // Removes node `n`, with its listings and binding. Returns its namespace (for the event);
  // its entries go to `released`.
  std::string erase(Node& n, std::vector<EntryPtr>& released) REQUIRES(mu) {
    unindex(n);
    unbind(n);
    if (bounded) lru.erase(n.lru);
    drop_hot(n, released);
    if (n.entry) released.push_back(std::move(n.entry));
    bytes -= n.bytes;
    std::string ns = std::move(n.ns);
    entries.erase(entries.find(std::string_view(n.id)));  // destroys n
    return ns;
  }
};

MemoryBackend::MemoryBackend(MemoryBackendOptions options)
    : state_(std::make_unique<State>(options.max_entries != 0 || options.max_bytes != 0)),
      options_(options) {}

MemoryBackend::~MemoryBackend() = default;

EntryPtr MemoryBackend::get(std::string_view ref_id) {
  State& s = *state_;
  std::vector<EntryPtr> released;  // destroyed after the lock is let go
  std::optional<ChangeEvent> expired;
  // A cold entry's text and other fields, copied under the lock and parsed outside it (a
  // large value takes a while). The fields are held by pointer: a hot read, the common case,
  // then only checks a null.
  struct Fields {
    std::string value_text;
    std::string metadata_text;
    std::string ns;
    PackedStandard standard;
    std::shared_ptr<const AccessPolicy> policy;
    double created_at;
    std::optional<double> expires_at;
    std::uint64_t seq;
  };
  std::unique_ptr<Fields> cold;
  {
    refcache_sync::Lock lock(s.mu);
    ++s.stats.gets;
    State::Node* n = s.find(ref_id);
    if (!n) {
      ++s.stats.misses;
      return nullptr;
    }
    if (n->is_expired(options_.clock())) {
      ++s.stats.misses;
      ++s.stats.expirations;
      std::string id = n->id;
      std::string ns = s.erase(*n, released);
      expired = ChangeEvent{ChangeKind::kExpired, std::move(id), std::move(ns)};
    } else {
      if (s.bounded) s.lru.splice(s.lru.begin(), s.lru, n->lru);
      ++s.stats.hits;
      if (!options_.freeze_values) return n->entry;
      if (n->hot) {
        s.hot_lru.splice(s.hot_lru.begin(), s.hot_lru, n->hot_pos);
        return n->hot;
      }
      cold =
          std::make_unique<Fields>(Fields{n->frozen_value, n->frozen_metadata, n->ns, n->standard,
                                          n->policy, n->created_at, n->expires_at, n->seq});
    }
  }
  if (expired) {
    emit(*expired);
    return nullptr;
  }
  auto thawed = std::make_shared<CacheEntry>();
  const jsonio::ParseLimits unlimited{.max_depth = 1u << 20};
  std::error_code ec;
  thawed->value = jsonio::parse(cold->value_text, ec, unlimited);
  if (ec)
    throw CorruptEntry("memory backend: stored value of " + std::string(ref_id) +
                       " does not parse: " + ec.message());
  if (!cold->metadata_text.empty()) {
    json::value meta = jsonio::parse(cold->metadata_text, ec, unlimited);
    if (!ec && meta.is_object()) thawed->metadata = std::move(meta.get_object());
  }
  thawed->standard = cold->standard.unpack();
  thawed->ns = std::move(cold->ns);
  thawed->policy = *cold->policy;
  thawed->created_at = cold->created_at;
  thawed->expires_at = cold->expires_at;
  EntryPtr result = std::move(thawed);
  {
    refcache_sync::Lock lock(s.mu);
    State::Node* n = s.find(ref_id);
    // Unless the entry was overwritten or removed meanwhile.
    if (n && n->seq == cold->seq) {
      if (n->hot) return n->hot;  // another reader thawed it first
      s.make_hot(*n, result, options_.hot_entries, options_.hot_bytes, released);
    }
  }
  return result;
}

std::optional<std::string> MemoryBackend::set(std::string_view ref_id, EntryPtr entry,
                                              const KeyBinding* binding) {
  if (!entry) throw InvalidArgument("MemoryBackend::set: null entry");
  State& s = *state_;
  // What the node keeps of the entry, made before the lock is taken: its text and fields when
  // freezing, else the entry itself.
  EntryPtr kept;
  std::string value_text, metadata_text;
  std::size_t nbytes = 0;
  if (options_.freeze_values) {
    value_text = compact_text(*entry);
    if (!entry->metadata.empty()) metadata_text = jsonio::to_string(entry->metadata);
    nbytes = value_text.size();
  } else {
    kept = entry;
    nbytes = value_bytes(*entry);
  }
  // The node a new entry takes (allocated here, outside the lock; unused on an overwrite).
  auto fresh = std::make_unique<State::Node>();
  fresh->id = ref_id;
  const HashedView key{fresh->id, StringHash{}(ref_id)};
  std::string bkey;
  if (binding) bkey = binding_key(binding->ns, binding->key);

  std::vector<ChangeEvent> events;
  std::vector<EntryPtr> released;  // destroyed after the lock is let go
  std::optional<std::string> replaced;
  {
    refcache_sync::Lock lock(s.mu);
    ++s.stats.sets;
    auto [it, inserted] = s.entries.try_emplace(key, std::move(fresh));
    State::Node* n = it->second.get();
    if (inserted) {
      s.index(*n, entry->ns);
      if (s.bounded) {
        s.lru.push_front(n);
        n->lru = s.lru.begin();
      }
    } else {
      // Overwritten in place; listed again if the namespace changed.
      if (n->ns != entry->ns) {
        s.unindex(*n);
        s.index(*n, entry->ns);
      }
      s.bytes -= n->bytes;
      if (s.bounded) s.lru.splice(s.lru.begin(), s.lru, n->lru);
      events.push_back({ChangeKind::kUpdated, n->id, entry->ns});
    }
    s.drop_hot(*n, released);
    if (n->entry) released.push_back(std::move(n->entry));
    n->entry = std::move(kept);
    n->ns = entry->ns;
    if (!s.last_policy || !(*s.last_policy == entry->policy))
      s.last_policy = std::make_shared<const AccessPolicy>(entry->policy);
    n->policy = s.last_policy;
    n->created_at = entry->created_at;
    n->expires_at = entry->expires_at;
    n->bytes = nbytes;
    s.bytes += nbytes;
    if (options_.freeze_values) {
      // Not made hot: the writer holds the parsed entry already, and a value that is never
      // read again would only push a read one out of the hot set. The first get() thaws it.
      n->frozen_value = std::move(value_text);
      n->standard.assign(entry->standard);
      n->frozen_metadata = std::move(metadata_text);
    }

    if (binding) {
      // A key bound to another ref replaces that entry (which takes its binding with it).
      if (auto b = s.bindings.find(std::string_view(bkey));
          b != s.bindings.end() && b->second != n) {
        std::string old_id = b->second->id;
        std::string old_ns = s.erase(*b->second, released);
        events.push_back({ChangeKind::kDeleted, old_id, std::move(old_ns)});
        replaced = std::move(old_id);
      }
      s.bind(*n, std::move(bkey));
    }

    // Evict least recently used entries beyond the bounds (never the one just written).
    if (s.bounded) {
      while ((options_.max_entries && s.entries.size() > options_.max_entries) ||
             (options_.max_bytes && s.bytes > options_.max_bytes && s.entries.size() > 1)) {
        State::Node* victim = s.lru.back();
        if (victim == n) break;
        std::string id = victim->id;
        std::string ns = s.erase(*victim, released);
        ++s.stats.evictions;
        events.push_back({ChangeKind::kExpired, std::move(id), std::move(ns)});
      }
    }
  }
  for (const auto& e : events) emit(e);
  return replaced;
}

bool MemoryBackend::remove(std::string_view ref_id) {
  State& s = *state_;
  std::vector<EntryPtr> released;
  std::string ns;
  {
    refcache_sync::Lock lock(s.mu);
    State::Node* n = s.find(ref_id);
    if (!n) return false;
    ++s.stats.deletes;
    ns = s.erase(*n, released);
  }
  emit({ChangeKind::kDeleted, std::string(ref_id), std::move(ns)});
  return true;
}

bool MemoryBackend::exists(std::string_view ref_id) {
  return get(ref_id) != nullptr;
}

std::size_t MemoryBackend::clear(std::optional<std::string_view> ns) {
  State& s = *state_;
  std::vector<EntryPtr> released;
  decltype(s.entries) gone;  // when clearing all: every node, destroyed after the lock is let go
  std::size_t n = 0;
  {
    refcache_sync::Lock lock(s.mu);
    if (!ns) {
      n = s.entries.size();
      gone.swap(s.entries);
      s.bindings.clear();
      s.by_ns.clear();
      s.all = State::Index();
      s.lru.clear();
      s.hot_lru.clear();
      s.hot_bytes = 0;
      s.bytes = 0;
    } else if (auto nsit = s.by_ns.find(*ns); nsit != s.by_ns.end()) {
      for (State::Node* node : nsit->second.items()) {
        s.erase(*node, released);
        ++n;
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
  State& s = *state_;
  ListPage page;
  std::vector<ChangeEvent> events;
  std::vector<EntryPtr> released;
  {
    refcache_sync::Lock lock(s.mu);
    const double now = options_.clock();
    const State::Index* idx = &s.all;
    if (ns) {
      auto nsit = s.by_ns.find(*ns);
      idx = nsit == s.by_ns.end() ? nullptr : &nsit->second;
    }
    std::vector<State::Node*> expired;
    if (idx) {
      auto it = idx->upper_bound(after);
      std::uint64_t last = after;
      for (; it != idx->end() && page.ref_ids.size() < limit; ++it) {
        if (!it->item) continue;  // a hole left by an erase
        last = it->seq;
        if (it->item->is_expired(now))
          expired.push_back(it->item);
        else
          page.ref_ids.push_back(it->item->id);
      }
      // More only if a live slot remains past the page.
      while (it != idx->end() && !it->item) ++it;
      if (it != idx->end()) page.next_cursor = std::to_string(last);
    }
    // Erased after the walk: erasing may squeeze the index the walk read.
    for (State::Node* node : expired) {
      std::string id = node->id;
      std::string ens = s.erase(*node, released);
      ++s.stats.expirations;
      events.push_back({ChangeKind::kExpired, std::move(id), std::move(ens)});
    }
  }
  for (const auto& e : events) emit(e);
  return page;
}

std::optional<std::string> MemoryBackend::find_by_key(std::string_view ns, std::string_view key) {
  State& s = *state_;
  std::string ref;
  {
    refcache_sync::Lock lock(s.mu);
    auto b = s.bindings.find(std::string_view(binding_key(ns, key)));
    if (b == s.bindings.end()) return std::nullopt;
    ref = b->second->id;
  }
  if (!get(ref)) return std::nullopt;  // expired entries take their binding with them
  return ref;
}

std::optional<KeyBinding> MemoryBackend::binding_of(std::string_view ref_id) {
  State& s = *state_;
  refcache_sync::Lock lock(s.mu);
  const State::Node* n = s.find(ref_id);
  if (n == nullptr || n->binding.empty()) return std::nullopt;
  const std::string& b = n->binding;
  std::size_t zero = b.find('\0');
  return KeyBinding{b.substr(0, zero), b.substr(zero + 1)};
}

bool MemoryBackend::try_claim(std::string_view name, std::string_view owner,
                              std::chrono::milliseconds ttl) {
  State& s = *state_;
  refcache_sync::Lock lock(s.mu);
  const double now = options_.clock();
  const double until = now + static_cast<double>(ttl.count()) / 1000.0;
  auto [it, fresh] =
      s.claims.try_emplace(std::string(name), State::Claim{std::string(owner), until});
  if (fresh) return true;
  if (it->second.owner == owner || it->second.expires_at <= now) {
    it->second = State::Claim{std::string(owner), until};
    return true;
  }
  return false;
}

void MemoryBackend::release_claim(std::string_view name, std::string_view owner) {
  State& s = *state_;
  refcache_sync::Lock lock(s.mu);
  auto it = s.claims.find(name);
  if (it != s.claims.end() && it->second.owner == owner) s.claims.erase(it);
}

std::optional<std::string> MemoryBackend::claim_holder(std::string_view name) {
  State& s = *state_;
  refcache_sync::Lock lock(s.mu);
  auto it = s.claims.find(name);
  if (it == s.claims.end() || it->second.expires_at <= options_.clock()) return std::nullopt;
  return it->second.owner;
}

void MemoryBackend::put_task(const TaskRecord& task) {
  State& s = *state_;
  refcache_sync::Lock lock(s.mu);
  s.tasks.insert_or_assign(task.ref_id, task);
}

std::optional<TaskRecord> MemoryBackend::get_task(std::string_view ref_id) {
  State& s = *state_;
  refcache_sync::Lock lock(s.mu);
  auto it = s.tasks.find(ref_id);
  if (it == s.tasks.end()) return std::nullopt;
  if (it->second.expires_at && options_.clock() >= *it->second.expires_at) {
    s.tasks.erase(it);
    return std::nullopt;
  }
  return it->second;
}

bool MemoryBackend::remove_task(std::string_view ref_id) {
  State& s = *state_;
  refcache_sync::Lock lock(s.mu);
  auto it = s.tasks.find(ref_id);
  if (it == s.tasks.end()) return false;
  s.tasks.erase(it);
  return true;
}

BackendStats MemoryBackend::stats() const {
  State& s = *state_;
  refcache_sync::Lock lock(s.mu);
  BackendStats st = s.stats;
  st.entries = static_cast<std::int64_t>(s.entries.size());
  st.bytes = static_cast<std::int64_t>(s.bytes);
  return st;
}

}  // namespace refcache
