#include "refcache/tokenizer/vocabulary.hpp"

#include <bit>
#include <cstring>
#include <stdexcept>

namespace refcache::tokenizer {
namespace {

// The first min(len, 8) bytes of p as a little-endian integer, zero-padded.
inline std::uint64_t head_of(const unsigned char* p, std::size_t len) {
  std::uint64_t h = 0;
  if (len >= 8) {
    std::memcpy(&h, p, 8);
  } else if (len >= 4) {
    std::uint32_t a = 0, b = 0;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + len - 4, 4);  // overlapping read of the last 4 bytes
    h = a | (std::uint64_t{b} << ((len - 4) * 8));
  } else {
    for (std::size_t i = 0; i < len; ++i) h |= std::uint64_t{p[i]} << (8 * i);
  }
  return h;
}

inline std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ULL;
  x ^= x >> 32;
  return x;
}

inline std::uint64_t hash_of(std::uint64_t head, const unsigned char* p, std::size_t len) {
  std::uint64_t h = mix(head * 0x9E3779B97F4A7C15ULL + len);
  for (std::size_t i = 8; i < len; i += 8) {
    const std::size_t k = len - i < 8 ? len - i : 8;
    h = mix(h ^ (head_of(p + i, k) * 0xFF51AFD7ED558CCDULL));
  }
  return h;
}

}  // namespace

Vocabulary::Vocabulary(EmbeddedFile file) : bytes_(file.data) {
  if (file.size < 12 || std::memcmp(file.data, "RCBPE001", 8) != 0)
    throw std::runtime_error("tokenizer: an embedded vocabulary is malformed");
  std::uint32_t count = 0;
  std::memcpy(&count, file.data + 8, 4);
  const std::size_t capacity = std::bit_ceil(std::size_t{count} * 2 + 1);
  slots_.resize(capacity);
  mask_ = capacity - 1;
  std::size_t at = 12;
  for (std::uint32_t t = 0; t < count; ++t) {
    if (at + 5 > file.size)
      throw std::runtime_error("tokenizer: an embedded vocabulary is truncated");
    std::uint32_t rank = 0;
    std::memcpy(&rank, file.data + at, 4);
    const std::size_t len = file.data[at + 4];
    const std::size_t offset = at + 5;
    if (len == 0 || offset + len > file.size || offset >= (std::size_t{1} << 24) || rank == kNoRank)
      throw std::runtime_error("tokenizer: an embedded vocabulary is malformed");
    const unsigned char* p = file.data + offset;
    if (this->rank(p, len) != kNoRank)
      throw std::runtime_error("tokenizer: an embedded vocabulary repeats a token");
    const std::uint64_t head = head_of(p, len);
    for (std::size_t i = hash_of(head, p, len) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].rank == kNoRank) {
        slots_[i] = {head, rank, static_cast<std::uint32_t>(offset << 8 | len)};
        break;
      }
    }
    at = offset + len;
  }
  size_ = count;
}

std::uint32_t Vocabulary::rank(const unsigned char* p, std::size_t len) const {
  if (len == 0 || len > 255) return kNoRank;
  const std::uint64_t head = head_of(p, len);
  for (std::size_t i = hash_of(head, p, len) & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.rank == kNoRank) return kNoRank;
    if (s.head == head && (s.tail & 0xFF) == len &&
        (len <= 8 || std::memcmp(bytes_ + (s.tail >> 8) + 8, p + 8, len - 8) == 0))
      return s.rank;
  }
}

}  // namespace refcache::tokenizer
