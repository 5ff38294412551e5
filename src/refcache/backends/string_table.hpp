// StringTable<V>: a hash table from string keys to V whose elements never move.
//
// The memory backend holds hundreds of thousands of entries and keeps pointers to their keys
// (listing indexes, LRU lists, key bindings), so its elements must stay where they are. Each
// element lives in its own allocation; the index is an open-addressing table of 16-byte
// slots {hash, element}, four to a cache line, probed linearly.
//
// Why not a library map. std::unordered_map reaches an element through a chain of node
// pointers and grows by walking every node: a cache miss per element, all under the store's
// lock (inserting 1.5 million 24-byte keys on the 2-core VM: slowest single insert 520-830
// ms, against 30-50 ms with the layout below). boost::unordered_flat_map (used until session
// 8) keeps its metadata and its slots in two arrays, so an insert into a table far larger
// than the cache touched two lines, and it offers no way to start fetching them early. In the
// memory backend's set, the two inserts (ref id, key binding) were a quarter of the time of a
// W1 set with 600,000 entries. Here an insert or a lookup reads one line in the common case,
// prefetch() lets the caller start that read while it does other work, and growing copies the
// slots in order (a slot's home is the top bits of its mixed hash, so doubling maps home h to
// 2h or 2h+1): the writes are sequential, where a rehash into a hashed order misses on every
// slot. The slot arrays come from allocate_zeroed (large_pages.hpp): already zero, and in
// 2 MiB pages where the kernel allows.
//
// The interface follows the parts of std::unordered_map the backend uses, with pointers for
// iterators: find() returns the element or end() (nullptr); an element has `first` (the key)
// and `second` (the value). Lookups may pass the key's hash, computed once with hash_of().
// Not thread-safe; the owner locks.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string_view>
#include <utility>

#include "large_pages.hpp"

namespace refcache::detail {

struct StdStringHash {
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <class V, class Hash = StdStringHash>
class StringTable {
 public:
  // One allocation holds the element and, just after it, the characters of its key: no
  // second allocation for a key longer than std::string's inline buffer (a ref id is 20-odd
  // characters), and comparing a probed key reads the line the element is on.
  class Element {
   public:
    const std::size_t hash;
    const std::string_view first;  // the key; its characters follow the element
    V second{};

   private:
    friend class StringTable;
    Element(std::size_t h, std::string_view k) : hash(h), first(k) {}
    ~Element() = default;

    static Element* make(std::size_t h, std::string_view key) {
      void* mem = ::operator new(sizeof(Element) + key.size());
      char* chars = static_cast<char*>(mem) + sizeof(Element);
      if (!key.empty()) std::memcpy(chars, key.data(), key.size());
      try {
        return ::new (mem) Element(h, std::string_view(chars, key.size()));
      } catch (...) {
        ::operator delete(mem);
        throw;
      }
    }
    static void destroy(Element* e) noexcept {
      e->~Element();
      ::operator delete(static_cast<void*>(e));
    }
  };

  explicit StringTable(Hash hash = Hash()) : hash_(std::move(hash)) {}
  StringTable(const StringTable&) = delete;
  StringTable& operator=(const StringTable&) = delete;
  ~StringTable() { clear(); }

  // The hash every lookup of `s` uses. Thread-safe (the hash function never changes).
  std::size_t hash_of(std::string_view s) const { return hash_(s); }

  // Starts reading the line where a probe for hash `h` begins (no effect on an empty table).
  void prefetch(std::size_t h) const {
    if (slots_) __builtin_prefetch(&slots_[home(h)]);
  }

  Element* find(std::string_view key) const { return find(key, hash_of(key)); }
  Element* find(std::string_view key, std::size_t h) const {
    if (size_ == 0) return nullptr;
    for (std::size_t i = home(h);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.element) return nullptr;
      if (s.hash == h && s.element->first == key) return s.element;
    }
  }
  static constexpr Element* end() { return nullptr; }

  // The element of `key`, value-initialised and inserted if there was none; the flag says
  // whether it was inserted.
  std::pair<Element*, bool> try_emplace(std::string_view key) {
    return try_emplace(key, hash_of(key));
  }
  std::pair<Element*, bool> try_emplace(std::string_view key, std::size_t h) {
    // Grown before probing, so that the probe's free slot is where the element goes. The
    // load stays at most 5/8: a miss probes 2-3 slots on average, within one or two lines.
    if ((size_ + 1) * 8 > capacity() * 5) grow();
    std::size_t i = home(h);
    for (;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (!s.element) break;
      if (s.hash == h && s.element->first == key) return {s.element, false};
    }
    Element* e = Element::make(h, key);
    slots_[i] = Slot{h, e};
    ++size_;
    return {e, true};
  }

  // Removes and destroys `e` (an element of this table). The slots after it in its run move
  // back where their probes would look for them (no tombstones: lookups stay short after
  // many erases).
  void erase(Element* e) {
    std::size_t i = home(e->hash);
    while (slots_[i].element != e) i = (i + 1) & mask_;
    Element::destroy(e);
    --size_;
    for (std::size_t j = (i + 1) & mask_; slots_[j].element; j = (j + 1) & mask_) {
      const std::size_t k = home(slots_[j].hash);
      // Slot j stays if its home lies cyclically in (i, j]: a probe from there reaches j
      // without passing i.
      const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = Slot{};
  }

  // Destroys every element and gives the index's memory back.
  void clear() {
    for (std::size_t i = 0; i < capacity(); ++i)
      if (slots_[i].element) Element::destroy(slots_[i].element);
    free_zeroed(slots_, capacity() * sizeof(Slot));
    slots_ = nullptr;
    mask_ = 0;
    shift_ = 64;
    size_ = 0;
  }

  std::size_t size() const { return size_; }

  // The longest stretch of occupied slots (what a lookup of an absent key may walk at
  // worst). O(capacity): for tests and diagnostics.
  std::size_t longest_run() const {
    std::size_t longest = 0, run = 0, first_run = 0;
    bool wrapped_start = true;  // still in the run that begins at slot 0
    for (std::size_t i = 0; i < capacity(); ++i) {
      if (slots_[i].element) {
        ++run;
      } else {
        if (wrapped_start) first_run = run;
        wrapped_start = false;
        longest = std::max(longest, run);
        run = 0;
      }
    }
    // A run at the end continues into the one at the start.
    return std::max(longest, wrapped_start ? run : run + first_run);
  }

 private:
  struct Slot {
    std::size_t hash = 0;
    Element* element = nullptr;  // null: free
  };

  std::size_t capacity() const { return slots_ ? mask_ + 1 : 0; }

  // Fibonacci hashing: the top bits of the hash times 2^64/phi. Any change in the hash's
  // bits reaches them, and doubling the table keeps the order of homes (h -> 2h or 2h+1).
  std::size_t home(std::size_t h) const { return home(h, shift_); }
  static std::size_t home(std::size_t h, unsigned shift) {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(h) * 0x9E3779B97F4A7C15ULL) >>
                                    shift);
  }

  void grow() {
    const std::size_t old_capacity = capacity();
    const std::size_t new_capacity = old_capacity ? old_capacity * 2 : 16;
    // All-zero bytes are free slots. May throw: nothing changed yet.
    Slot* const old = slots_;
    slots_ = static_cast<Slot*>(allocate_zeroed(new_capacity * sizeof(Slot)));
    mask_ = new_capacity - 1;
    shift_ = 64 - static_cast<unsigned>(std::countr_zero(new_capacity));
    // In slot order, so that the writes go mostly forward through the new array. A run that wrapped
    // past the end of the old array lands at the start of the new one; those slots are placed after
    // it, which linear probing allows (any order of inserts leaves every element reachable from its
    // home).
    for (std::size_t i = 0; i < old_capacity; ++i) {
      const Slot& s = old[i];
      if (!s.element) continue;
      std::size_t j = home(s.hash);
      while (slots_[j].element) j = (j + 1) & mask_;
      slots_[j] = s;
    }
    free_zeroed(old, old_capacity * sizeof(Slot));
  }

  Hash hash_;
  Slot* slots_ = nullptr;  // capacity() slots from allocate_zeroed
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
  std::size_t size_ = 0;
};

}  // namespace refcache::detail
