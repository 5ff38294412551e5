// A BPE vocabulary: token bytes to rank (the token id), read from the embedded rank file of
// an encoding (layout in scripts/tiktoken-data.mjs). Tokens of one or two bytes, the most
// frequent look-ups of the merge loop, are in a direct table (256 KB, stays in cache); longer
// ones in an open-addressing hash table whose slots hold the first 8 bytes inline, so most
// look-ups touch one cache line. About half of the merge loop's look-ups are of byte strings
// that are not tokens; a one-hash Bloom filter (256 KB, about 9 % false positives for
// o200k_base) answers most of those without touching the table.
// Immutable after construction; safe to share across threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "refcache/tokenizer/embedded_data.hpp"

namespace refcache::tokenizer {

inline constexpr std::uint32_t kNoRank = 0xFFFFFFFF;

class Vocabulary {
 public:
  // Reads `file`, which must outlive the vocabulary; throws std::runtime_error if it is
  // malformed.
  explicit Vocabulary(EmbeddedFile file);

  // Rank of the token whose bytes are [p, p + len), or kNoRank.
  std::uint32_t rank(const unsigned char* p, std::size_t len) const {
    if (len == 2) return pairs_[std::size_t{p[0]} | std::size_t{p[1]} << 8];
    if (len == 1) return singles_[p[0]];
    return rank_long(p, len);
  }
  std::uint32_t rank(std::string_view bytes) const {
    return rank(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }
  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint64_t head = 0;        // the first 8 bytes, zero-padded
    std::uint32_t rank = kNoRank;  // kNoRank: empty slot
    std::uint32_t tail = 0;        // offset of the token's bytes in the file << 8 | length
  };
  std::uint32_t rank_long(const unsigned char* p, std::size_t len) const;

  std::vector<std::uint64_t> filter_;  // bit (hash >> kFilterShift) set: may be a token
  std::vector<std::uint32_t> singles_ = std::vector<std::uint32_t>(256, kNoRank);
  std::vector<std::uint32_t> pairs_ = std::vector<std::uint32_t>(65536, kNoRank);
  struct FreeSlots {
    void operator()(Slot* p) const;
  };
  std::unique_ptr<Slot[], FreeSlots> slots_;  // NOLINT(modernize-avoid-c-arrays): see .cpp
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::size_t max_len_ = 0;  // of the longest token
  const unsigned char* bytes_ = nullptr;
};

}  // namespace refcache::tokenizer
