// Random bytes from the kernel's CSPRNG (getrandom(2)), for ref ids, worker ids and claim
// owners.
//
// Bytes are drawn in blocks into a per-thread buffer, so that a ref id costs a copy rather
// than a system call; each byte is handed out once and wiped from the buffer as it is. A
// child process made by fork() never hands out bytes its parent had buffered: its threads
// refill their buffers first.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace refcache {

// Fills `out` with `n` bytes from the CSPRNG. Throws std::runtime_error if getrandom fails.
void random_bytes(void* out, std::size_t n);

// 64 bits from the CSPRNG.
std::uint64_t random_u64();

// `n` random bytes as 2n lowercase hex digits.
std::string random_hex(std::size_t n);

}  // namespace refcache
