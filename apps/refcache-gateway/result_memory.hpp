// How the gateway uses the C library's allocator for results of megabytes, which it reads,
// parses, stores and drops within one call.
//
// Our servers hand every block of 1 MiB or more back to the system when it is freed, and trim
// a heap's free room beyond 128 KiB (mcp::return_large_blocks_to_os's defaults), so that
// large request bodies do not stay resident. For the gateway, whose work is large results,
// that means the next result faults every page in again; where page faults are dear (virtual
// machines) that costs more than the parsing and storing themselves (a 1 MB result stored on
// SQLite took about four times as long). So:
//   - keep_freed_memory(), at start-up, before serving: blocks under kReturnMemoryAbove come
//     from the heaps, and up to kKeptFreeMemory of free room stays with a heap for the next
//     result;
//   - return_free_memory(), after answering a result of kReturnMemoryAbove or more: all free
//     memory goes back, so that one huge result does not leave the gateway at its peak.
// Elsewhere than glibc both do nothing.
//
// Thread-safety: keep_freed_memory() once, before other threads start; return_free_memory()
// from any thread.
#pragma once

#include <cstddef>

namespace gateway {

// Results (and blocks) at least this large are not kept for reuse.
inline constexpr std::size_t kReturnMemoryAbove = std::size_t{16} << 20;
// Free room a heap keeps before it gives memory back by itself.
inline constexpr std::size_t kKeptFreeMemory = std::size_t{32} << 20;

void keep_freed_memory();
void return_free_memory();

}  // namespace gateway
