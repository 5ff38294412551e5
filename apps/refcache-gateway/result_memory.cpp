#include "result_memory.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "mcp/serve.hpp"

namespace gateway {

void keep_freed_memory() {
  mcp::return_large_blocks_to_os(kReturnMemoryAbove, kKeptFreeMemory);
}

void return_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace gateway
