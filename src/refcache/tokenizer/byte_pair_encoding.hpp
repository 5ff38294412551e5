// Byte-level BPE of one piece: starting from single bytes, repeatedly merge the adjacent pair
// whose concatenation has the lowest rank (the leftmost such pair on ties) until no adjacent
// pair is a token: tiktoken's and js-tiktoken's merge rule. Short pieces use a scan per
// merge (quadratic, fastest for the few bytes of most pieces); long ones, such as a paragraph
// of CJK text that the split patterns keep whole, a heap (n log n). Both give the same parts.
// Pure functions of their arguments; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "refcache/tokenizer/vocabulary.hpp"

namespace refcache::tokenizer {

// Pieces at least this long use the heap.
inline constexpr std::size_t kHeapMergeFrom = 128;

// Start offsets of the parts of `piece` after merging, in order (the first is 0).
// REQUIRES: !piece.empty(). `out` is cleared first.
void merge_parts(const Vocabulary& vocab, std::string_view piece, std::vector<std::uint32_t>& out);
// The same with one algorithm forced, for the tests.
void merge_parts_scan(const Vocabulary& vocab, std::string_view piece,
                      std::vector<std::uint32_t>& out);
void merge_parts_heap(const Vocabulary& vocab, std::string_view piece,
                      std::vector<std::uint32_t>& out);

// Appends the token ids of `piece` to `ids`.
void byte_pair_encode(const Vocabulary& vocab, std::string_view piece,
                      std::vector<std::uint32_t>& ids);
// Number of tokens of `piece`.
std::size_t byte_pair_count(const Vocabulary& vocab, std::string_view piece);

}  // namespace refcache::tokenizer
