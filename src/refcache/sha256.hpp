// SHA-256 (FIPS 180-4), for the keys of cached calls.
//
// The core library's own implementation, so that the core needs no cryptographic library:
// only the Redis backend links OpenSSL (for TLS). Call keys hash a few hundred bytes of
// canonical JSON, where a portable implementation costs about a microsecond; nothing here
// needs a hash that is faster or resistant to timing attacks (the input is not secret).
//
// Thread-safety: pure functions; callable from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace refcache::detail {

using Sha256Digest = std::array<std::uint8_t, 32>;

// The SHA-256 digest of `data`.
Sha256Digest sha256(std::string_view data);

// The first `hex_chars` lowercase hex digits of the digest of `data` (all 64 by default).
// REQUIRES: hex_chars <= 64.
std::string sha256_hex(std::string_view data, std::size_t hex_chars = 64);

}  // namespace refcache::detail
