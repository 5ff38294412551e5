// A small per-thread cache of token counts of pieces that are not tokens themselves (words
// outside the vocabulary, runs of spaces or punctuation), so that text repeating such pieces,
// as JSON and code do, merges each one once. Bounded: 1024 entries (about 150 KB per thread),
// direct-mapped, pieces of up to 128 bytes; an entry holds the piece's bytes, so a hit is
// exact, never a hash guess.
// Each thread has its own cache (thread_local), which keeps the tokenizers immutable and
// lock-free; entries are tagged with the vocabulary they were counted with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace refcache::tokenizer {

inline constexpr std::size_t kMaxCachedPiece = 128;

// The count the calling thread stored for (`owner`, `piece`), if it is still cached.
std::optional<std::size_t> find_cached_count(const void* owner, std::string_view piece);
// Stores the count of (`owner`, `piece`) in the calling thread's cache, replacing what its
// slot held. Pieces longer than kMaxCachedPiece are not stored.
void store_cached_count(const void* owner, std::string_view piece, std::size_t count);

}  // namespace refcache::tokenizer
