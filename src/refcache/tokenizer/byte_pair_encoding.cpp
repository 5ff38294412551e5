#include "refcache/tokenizer/byte_pair_encoding.hpp"

#include <algorithm>

namespace refcache::tokenizer {
namespace {

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Per-thread scratch space, so that encoding allocates nothing in the steady state.
struct Scratch {
  std::vector<std::uint32_t> starts;
  std::vector<std::uint32_t> ranks;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

void merge_parts_scan(const Vocabulary& vocab, std::string_view piece,
                      std::vector<std::uint32_t>& out) {
  const std::size_t n = piece.size();
  const unsigned char* p = bytes(piece);
  // starts[i]: start of part i (with starts[parts] == n); ranks[i]: rank of parts i and i+1
  // merged, kNoRank if they are not a token or i + 1 is the end.
  std::vector<std::uint32_t>& starts = out;
  std::vector<std::uint32_t>& ranks = scratch().ranks;
  starts.resize(n + 1);
  ranks.resize(n + 1);
  for (std::size_t i = 0; i <= n; ++i) starts[i] = static_cast<std::uint32_t>(i);
  for (std::size_t i = 0; i + 1 < n; ++i) ranks[i] = vocab.rank(p + i, 2);
  ranks[n - 1] = kNoRank;
  ranks[n] = kNoRank;
  std::size_t parts = n;  // starts[0..parts] are live
  auto pair_rank = [&](std::size_t i) {
    return i + 2 <= parts ? vocab.rank(p + starts[i], starts[i + 2] - starts[i]) : kNoRank;
  };
  while (parts > 1) {
    std::uint32_t best = kNoRank;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < parts; ++i) {
      if (ranks[i] < best) {
        best = ranks[i];
        at = i;
      }
    }
    if (best == kNoRank) break;
    // Part at+1 joins part at.
    std::copy(starts.begin() + static_cast<std::ptrdiff_t>(at + 2),
              starts.begin() + static_cast<std::ptrdiff_t>(parts + 1),
              starts.begin() + static_cast<std::ptrdiff_t>(at + 1));
    std::copy(ranks.begin() + static_cast<std::ptrdiff_t>(at + 2),
              ranks.begin() + static_cast<std::ptrdiff_t>(parts + 1),
              ranks.begin() + static_cast<std::ptrdiff_t>(at + 1));
    --parts;
    ranks[at] = pair_rank(at);
    if (at > 0) ranks[at - 1] = pair_rank(at - 1);
  }
  starts.resize(parts);
}

void merge_parts_heap(const Vocabulary& vocab, std::string_view piece,
                      std::vector<std::uint32_t>& out) {
  const std::size_t n = piece.size();
  const unsigned char* p = bytes(piece);
  constexpr std::uint32_t kEnd = 0xFFFFFFFF;
  // Parts form a linked list of byte offsets; a part is known by its start. The arrays are the
  // thread's scratch space, reused from piece to piece.
  thread_local std::vector<std::uint32_t> next, prev, version;
  thread_local std::vector<std::uint8_t> alive;
  struct Entry {
    std::uint32_t rank, start, version;
    // Lowest rank first, then leftmost: the order of the merge rule.
    bool operator<(const Entry& o) const {
      return rank != o.rank ? rank > o.rank : start > o.start;
    }
  };
  thread_local std::vector<Entry> heap;
  next.resize(n);
  prev.resize(n);
  version.assign(n, 0);
  alive.assign(n, 1);
  heap.clear();
  for (std::size_t i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? static_cast<std::uint32_t>(i + 1) : kEnd;
    prev[i] = i > 0 ? static_cast<std::uint32_t>(i - 1) : kEnd;
  }
  auto pair_rank = [&](std::uint32_t i) {
    const std::uint32_t j = next[i];
    if (j == kEnd) return kNoRank;
    const std::size_t end = next[j] == kEnd ? n : std::size_t{next[j]};
    return vocab.rank(p + i, end - i);
  };
  auto push = [&](Entry e) {
    heap.push_back(e);
    std::push_heap(heap.begin(), heap.end());
  };
  for (std::uint32_t i = 0; i + 1 < n; ++i) {
    if (const std::uint32_t r = pair_rank(i); r != kNoRank) heap.push_back({r, i, 0});
  }
  std::make_heap(heap.begin(), heap.end());
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Entry e = heap.back();
    heap.pop_back();
    if (!alive[e.start] || version[e.start] != e.version) continue;  // stale
    const std::uint32_t i = e.start, j = next[i];
    alive[j] = 0;
    next[i] = next[j];
    if (next[j] != kEnd) prev[next[j]] = i;
    ++version[i];
    if (const std::uint32_t r = pair_rank(i); r != kNoRank) push({r, i, version[i]});
    if (prev[i] != kEnd) {
      const std::uint32_t h = prev[i];
      ++version[h];
      if (const std::uint32_t r = pair_rank(h); r != kNoRank) push({r, h, version[h]});
    }
  }
  out.clear();
  for (std::uint32_t i = 0; i != kEnd; i = next[i]) out.push_back(i);
}

void merge_parts(const Vocabulary& vocab, std::string_view piece, std::vector<std::uint32_t>& out) {
  if (piece.size() >= kHeapMergeFrom) {
    merge_parts_heap(vocab, piece, out);
  } else {
    merge_parts_scan(vocab, piece, out);
  }
}

void byte_pair_encode(const Vocabulary& vocab, std::string_view piece,
                      std::vector<std::uint32_t>& ids) {
  std::vector<std::uint32_t>& starts = scratch().starts;
  merge_parts(vocab, piece, starts);
  const unsigned char* p = bytes(piece);
  for (std::size_t k = 0; k < starts.size(); ++k) {
    const std::size_t end = k + 1 < starts.size() ? starts[k + 1] : piece.size();
    ids.push_back(vocab.rank(p + starts[k], end - starts[k]));
  }
}

std::size_t byte_pair_count(const Vocabulary& vocab, std::string_view piece) {
  std::vector<std::uint32_t>& starts = scratch().starts;
  merge_parts(vocab, piece, starts);
  return starts.size();
}

}  // namespace refcache::tokenizer
