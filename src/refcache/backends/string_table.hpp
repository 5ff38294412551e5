// StringTable<V>: a hash table from string keys to V whose elements never move.
//
// The memory backend holds hundreds of thousands of entries and keeps pointers to their keys
// (listing indexes, LRU lists), so its elements must stay where they are. std::unordered_map
// keeps them in place too, but it reaches an element through a chain of node pointers and
// grows by walking every node: a cache miss per element, all under the store's lock. Here the
// elements live in their own allocations and the index is an open-addressing table
// (boost::unordered_flat_map) of {hash, key pointer} slots: growing it moves slots and reads
// no element, and a lookup reads an element only when a slot's hash fingerprint matches.
// Inserting 1.5 million 24-byte keys on the 2-core VM (busy with a build): the slowest single
// insert (the growth) took 520-830 ms with std::unordered_map and 30-50 ms here, and all of
// them 3.3-3.4 s against 1.1-1.3 s.
//
// The interface follows the parts of std::unordered_map the backend uses, with pointers for
// iterators: find() returns the element or end() (nullptr); an element has `first` (the key)
// and `second` (the value). Not thread-safe; the owner locks.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace refcache::detail {

template <class V>
class StringTable {
 public:
  struct Element {
    Element(std::size_t h, std::string_view k) : hash(h), first(k) {}
    const std::size_t hash;
    const std::string first;
    V second{};
  };

  Element* find(std::string_view key) const {
    auto it = index_.find(Probe{hash_of(key), key});
    return it == index_.end() ? nullptr : it->second.get();
  }
  static constexpr Element* end() { return nullptr; }

  // The element of `key`, value-initialised and inserted if there was none; the flag says
  // whether it was inserted.
  std::pair<Element*, bool> try_emplace(std::string_view key) {
    const std::size_t h = hash_of(key);
    auto it = index_.find(Probe{h, key});
    if (it != index_.end()) return {it->second.get(), false};
    auto element = std::make_unique<Element>(h, key);
    Element* e = element.get();
    index_.emplace(Slot{h, &e->first}, std::move(element));
    return {e, true};
  }

  // Removes and destroys `e` (an element of this table).
  void erase(Element* e) { index_.erase(Probe{e->hash, e->first}); }

  void clear() { index_.clear(); }
  std::size_t size() const { return index_.size(); }

 private:
  static std::size_t hash_of(std::string_view s) { return std::hash<std::string_view>{}(s); }

  // What the index stores: the key's hash (so that growing reads no element) and the key.
  struct Slot {
    std::size_t hash;
    const std::string* key;
  };
  // What a lookup passes: a hash computed once and the key looked for.
  struct Probe {
    std::size_t hash;
    std::string_view key;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(const Slot& s) const { return s.hash; }
    std::size_t operator()(const Probe& p) const { return p.hash; }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(const Slot& a, const Slot& b) const {
      return a.hash == b.hash && *a.key == *b.key;
    }
    bool operator()(const Probe& p, const Slot& s) const {
      return p.hash == s.hash && p.key == *s.key;
    }
    bool operator()(const Slot& s, const Probe& p) const { return (*this)(p, s); }
  };

  boost::unordered_flat_map<Slot, std::unique_ptr<Element>, Hash, Eq> index_;
};

}  // namespace refcache::detail
