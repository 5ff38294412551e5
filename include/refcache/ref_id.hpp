// Ref ids: the names under which cached values are stored and passed between tools.
//
// A ref id RefCache makes is "{cache_name}:{16 lowercase hex}": the name of the cache (which
// matches [a-zA-Z][a-zA-Z0-9_-]*), a colon, and 64 bits from the kernel's CSPRNG
// (random_u64()), so that an id cannot be guessed from others and two ids collide with
// probability 2^-64. Every backend stores entries under the ids RefCache makes; none chooses
// its own.
//
// Ids are recognised in a wider shape, that of mcp-refcache 0.2.1 (kRefIdPattern): a cache
// name, a colon and at least 8 lowercase hex digits, with nothing after them (not even a
// newline). is_ref_id() and kRefIdPattern agree on it: a string is treated as a ref exactly
// when it has this shape. Tool parameters that take a ref id advertise kRefPathPattern
// (ref_path.hpp): this shape, optionally followed by '#' and a JSON Pointer naming a part.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace refcache {

// The shape of a ref id as an ECMA-262 regular expression, for JSON Schema "pattern".
inline constexpr std::string_view kRefIdPattern = "^[a-zA-Z][a-zA-Z0-9_-]*:[a-f0-9]{8,}$";

// Hex digits of the random part of the ids make_ref_id() makes.
inline constexpr std::size_t kRefIdHexDigits = 16;

// True when `name` may name a cache, that is, begin a ref id: [a-zA-Z][a-zA-Z0-9_-]*.
bool is_cache_name(std::string_view name);

// A fresh ref id of cache `cache_name`: "{cache_name}:{16 lowercase hex}" from the CSPRNG.
// Throws std::runtime_error if the CSPRNG fails. REQUIRES: is_cache_name(cache_name).
std::string make_ref_id(std::string_view cache_name);

// The two parts of a ref id, viewing the string parsed.
struct RefIdParts {
  std::string_view cache_name{};  // before the colon
  std::string_view hex{};         // after it: 8 or more lowercase hex digits
};

// The parts of `s` when it has the shape of kRefIdPattern, else nullopt.
std::optional<RefIdParts> parse_ref_id(std::string_view s);

// True when `s` has the shape of a ref id (kRefIdPattern).
inline bool is_ref_id(std::string_view s) {
  return parse_ref_id(s).has_value();
}

}  // namespace refcache
