#include "refcache/tokenizer/piece_cache.hpp"

#include <array>
#include <cstring>

namespace refcache::tokenizer {
namespace {

constexpr std::size_t kSlots = 1024;

struct Entry {
  const void* owner = nullptr;
  std::uint32_t count = 0;
  std::uint16_t len = 0;
  std::array<char, kMaxCachedPiece> bytes{};
};

struct Slots {
  std::array<Entry, kSlots> entries{};
};

// FNV-1a over 8-byte words; pieces are short.
std::size_t slot_of(const void* owner, std::string_view piece) {
  std::uint64_t h = 0xCBF29CE484222325ULL ^ reinterpret_cast<std::uintptr_t>(owner);
  std::size_t i = 0;
  for (; i + 8 <= piece.size(); i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, piece.data() + i, 8);
    h = (h ^ w) * 0x100000001B3ULL;
    h ^= h >> 29;
  }
  for (; i < piece.size(); ++i) h = (h ^ static_cast<unsigned char>(piece[i])) * 0x100000001B3ULL;
  h ^= h >> 32;
  return static_cast<std::size_t>(h % kSlots);
}

Slots& slots() {
  thread_local Slots s;
  return s;
}

}  // namespace

std::optional<std::size_t> find_cached_count(const void* owner, std::string_view piece) {
  if (piece.size() > kMaxCachedPiece) return std::nullopt;
  const Entry& e = slots().entries[slot_of(owner, piece)];
  if (e.owner != owner || e.len != piece.size() ||
      std::memcmp(e.bytes.data(), piece.data(), piece.size()) != 0)
    return std::nullopt;
  return e.count;
}

void store_cached_count(const void* owner, std::string_view piece, std::size_t count) {
  if (piece.size() > kMaxCachedPiece) return;
  Entry& e = slots().entries[slot_of(owner, piece)];
  e.owner = owner;
  e.count = static_cast<std::uint32_t>(count);
  e.len = static_cast<std::uint16_t>(piece.size());
  std::memcpy(e.bytes.data(), piece.data(), piece.size());
}

}  // namespace refcache::tokenizer
