// Small crypto helpers over OpenSSL: random ids, SHA-256, HMAC-SHA256, base64.
#pragma once

#include <string>
#include <string_view>

namespace mcp::crypto {

// `n_bytes` random bytes from the OpenSSL CSPRNG as lowercase hex. Throws on RNG failure.
std::string random_hex(std::size_t n_bytes);
// Raw random bytes.
std::string random_bytes(std::size_t n_bytes);
// SHA-256(data) as raw 32 bytes.
std::string sha256(std::string_view data);
// HMAC-SHA256(key, data) as raw 32 bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);
// Constant-time comparison.
bool equal_ct(std::string_view a, std::string_view b);
std::string base64url_encode(std::string_view data);
// Returns false on invalid input.
bool base64url_decode(std::string_view in, std::string& out);
std::string base64_encode(std::string_view data);
// Standard base64 with padding (RFC 4648 §4); strict: returns false on bad chars or padding.
bool base64_decode(std::string_view in, std::string& out);

}  // namespace mcp::crypto
