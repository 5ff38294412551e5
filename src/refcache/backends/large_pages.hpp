// Zero-filled memory for the memory backend's large arrays, in 2 MiB pages where the kernel
// allows them.
//
// The backend's indexes grow by doubling into fresh arrays of tens of megabytes. Through
// malloc, each array was first zeroed by a loop and then faulted in 4 KiB at a time: at
// 600,000 entries the faults and the zeroing were about a sixth of the time of a W1 set.
// Blocks from here come straight from mmap, so they are already zero, and are aligned to
// 2 MiB and advised (MADV_HUGEPAGE) for transparent huge pages, which Debian enables for
// advised memory by default: one fault per 2 MiB. Where huge pages are off the advice is a
// no-op and the block behaves as ordinary anonymous memory. Small blocks (below
// kLargeBlock) come from calloc.
#pragma once

#include <cstddef>

namespace refcache::detail {

constexpr std::size_t kLargeBlock = std::size_t{2} << 20;

// `bytes` of zero-filled memory, aligned to at least 16. Throws std::bad_alloc.
void* allocate_zeroed(std::size_t bytes);
// Frees a block from allocate_zeroed(bytes) (the same `bytes`). Null is a no-op.
void free_zeroed(void* p, std::size_t bytes) noexcept;

}  // namespace refcache::detail
