#include "large_pages.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>

namespace refcache::detail {

namespace {

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

}  // namespace

void* allocate_zeroed(std::size_t bytes) {
  if (bytes < kLargeBlock) {
    void* p = std::calloc(1, bytes == 0 ? 1 : bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }
  const std::size_t size = round_up(bytes, kLargeBlock);
  // Mapped one huge page larger, then trimmed to a 2 MiB boundary at both ends: a huge page
  // can only back an aligned stretch.
  void* raw =
      mmap(nullptr, size + kLargeBlock, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = round_up(start, kLargeBlock);
  if (aligned > start) munmap(raw, aligned - start);
  const std::uintptr_t tail = aligned + size;
  const std::uintptr_t map_end = start + size + kLargeBlock;
  if (map_end > tail) munmap(reinterpret_cast<void*>(tail), map_end - tail);
  void* p = reinterpret_cast<void*>(aligned);
  madvise(p, size, MADV_HUGEPAGE);  // advice: failure (THP compiled out) changes nothing
  return p;
}

void free_zeroed(void* p, std::size_t bytes) noexcept {
  if (!p) return;
  if (bytes < kLargeBlock) {
    std::free(p);
    return;
  }
  munmap(p, round_up(bytes, kLargeBlock));
}

}  // namespace refcache::detail
