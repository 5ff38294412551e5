// A BPE vocabulary: token bytes to rank (the token id), read from the embedded rank file of
// an encoding (layout in scripts/tiktoken-data.mjs). An open-addressing hash table whose
// slots hold tokens of up to 8 bytes inline, so most look-ups touch one cache line.
// Immutable after construction; safe to share across threads.
#pragma once

#include <cstddef>
#include <cstdint>
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
  std::uint32_t rank(const unsigned char* p, std::size_t len) const;
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
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  const unsigned char* bytes_ = nullptr;
};

}  // namespace refcache::tokenizer
