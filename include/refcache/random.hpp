// Random identifiers from a CSPRNG.
//
// ref ids carry 64 random bits ("{cache_name}:{16 lowercase hex}"); session ids and claim
// owners use the same source. Bytes come from OpenSSL's RAND_bytes, fetched in blocks into a
// per-thread buffer so that a ref id costs nanoseconds, not a system call; the buffer is
// discarded in a forked child so parent and child never hand out the same bytes.
// Thread-safety: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace refcache {

// Fills `out` with `n` bytes from the CSPRNG. Throws std::runtime_error if the CSPRNG fails.
void random_bytes(void* out, std::size_t n);

std::uint64_t random_u64();

// `n` random bytes as 2n lowercase hex digits.
std::string random_hex(std::size_t n);

// "{cache_name}:{16 lowercase hex}".
std::string make_ref_id(std::string_view cache_name);

// "{cache_name}:{bits as 16 lowercase hex}" (make_ref_id with bits of the caller's making).
std::string format_ref_id(std::string_view cache_name, std::uint64_t bits);

// The 64 bits of a ref id's last 17 characters, ":" and 16 lowercase hex digits, as
// format_ref_id writes them; nullopt if the id does not end that way.
std::optional<std::uint64_t> ref_id_bits(std::string_view ref_id);

}  // namespace refcache
