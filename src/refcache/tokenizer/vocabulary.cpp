#include "refcache/tokenizer/vocabulary.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
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

// Hash of a byte string from its first and last 8 bytes and its length: constant time, which
// matters for the long concatenations the merge loop probes (runs of spaces or dashes).
// Strings that agree on all three collide; the look-up compares the whole bytes anyway.
inline std::uint64_t hash_of(std::uint64_t head, const unsigned char* p, std::size_t len) {
  std::uint64_t h = mix(head * 0x9E3779B97F4A7C15ULL + len);
  if (len > 8) {
    std::uint64_t last = 0;
    std::memcpy(&last, p + len - 8, 8);
    h = mix(h ^ (last * 0xFF51AFD7ED558CCDULL));
  }
  return h;
}

constexpr unsigned kFilterBits = 21;  // 2^21 bits
constexpr unsigned kFilterShift = 64 - kFilterBits;

}  // namespace

Vocabulary::Vocabulary(EmbeddedFile file) : bytes_(file.data) {
  if (file.size < 12 || std::memcmp(file.data, "RCBPE001", 8) != 0)
    throw std::runtime_error("tokenizer: an embedded vocabulary is malformed");
  std::uint32_t count = 0;
  std::memcpy(&count, file.data + 8, 4);
  // A load factor of about 0.76 (o200k_base: 2^18 slots, 4 MB): linear probing stays within a
  // cache line or two, and the smaller table misses the cache less than a sparser one, which
  // measured slower. The Bloom filter keeps most look-ups of absent strings off the table.
  // The table is probed at random: on 2 MB pages (where the kernel grants them) a look-up
  // costs no TLB miss.
  const std::size_t capacity = std::bit_ceil(std::size_t{count} * 5 / 4 + 1);
  constexpr std::size_t kHugePage = std::size_t{2} << 20;
  const std::size_t bytes = (capacity * sizeof(Slot) + kHugePage - 1) / kHugePage * kHugePage;
  void* mem = std::aligned_alloc(kHugePage, bytes);
  if (mem == nullptr) throw std::bad_alloc();
  ::madvise(mem, bytes, MADV_HUGEPAGE);  // advice only: ignored where unsupported
  slots_.reset(static_cast<Slot*>(mem));
  std::uninitialized_fill_n(slots_.get(), capacity, Slot{});
  mask_ = capacity - 1;
  filter_.assign((std::size_t{1} << kFilterBits) / 64, 0);
  std::size_t at = 12;
  for (std::uint32_t t = 0; t < count; ++t) {
    if (at + 5 > file.size)
      throw std::runtime_error("tokenizer: an embedded vocabulary is truncated");
    std::uint32_t rank = 0;
    std::memcpy(&rank, file.data + at, 4);
    const std::size_t len = file.data[at + 4];
    const std::size_t offset = at + 5;
    max_len_ = std::max(max_len_, len);
    if (len == 0 || offset + len > file.size || offset >= (std::size_t{1} << 24) || rank == kNoRank)
      throw std::runtime_error("tokenizer: an embedded vocabulary is malformed");
    const unsigned char* p = file.data + offset;
    if (this->rank(p, len) != kNoRank)
      throw std::runtime_error("tokenizer: an embedded vocabulary repeats a token");
    if (len == 1) {
      singles_[p[0]] = rank;
    } else if (len == 2) {
      pairs_[std::size_t{p[0]} | std::size_t{p[1]} << 8] = rank;
    }
    at = offset + len;
    if (len <= 2) continue;
    const std::uint64_t head = head_of(p, len);
    const std::uint64_t h = hash_of(head, p, len);
    filter_[(h >> kFilterShift) / 64] |= std::uint64_t{1} << ((h >> kFilterShift) % 64);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].rank == kNoRank) {
        slots_[i] = {head, rank, static_cast<std::uint32_t>(offset << 8 | len)};
        break;
      }
    }
  }
  size_ = count;
}

void Vocabulary::FreeSlots::operator()(Slot* p) const {
  std::free(p);  // NOLINT(cppcoreguidelines-no-malloc): from std::aligned_alloc
}

std::uint32_t Vocabulary::rank_long(const unsigned char* p, std::size_t len) const {
  if (len == 0 || len > max_len_) return kNoRank;
  const std::uint64_t head = head_of(p, len);
  const std::uint64_t h = hash_of(head, p, len);
  if (!(filter_[(h >> kFilterShift) / 64] >> ((h >> kFilterShift) % 64) & 1)) return kNoRank;
  for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.rank == kNoRank) return kNoRank;
    if (s.head == head && (s.tail & 0xFF) == len &&
        (len <= 8 || std::memcmp(bytes_ + (s.tail >> 8) + 8, p + 8, len - 8) == 0))
      return s.rank;
  }
}

}  // namespace refcache::tokenizer
