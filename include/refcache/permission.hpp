// Permission flags: what an actor may do with a cached value.
//
// The bit values are those of mcp-refcache 0.2.1 (Python `enum.Flag` with `auto()`), so
// policies stored by Python servers read back unchanged: READ 1, WRITE 2, UPDATE 4,
// DELETE 8, EXECUTE 16. EXECUTE means "use in a computation without seeing the value".
#pragma once

#include <cstdint>
#include <string>

namespace refcache {

enum class Permission : std::uint8_t {
  kNone = 0,
  kRead = 1,
  kWrite = 2,
  kUpdate = 4,
  kDelete = 8,
  kExecute = 16,
  kCrud = 15,  // READ|WRITE|UPDATE|DELETE
  kFull = 31,  // CRUD|EXECUTE
};

constexpr Permission operator|(Permission a, Permission b) {
  return static_cast<Permission>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
constexpr Permission operator&(Permission a, Permission b) {
  return static_cast<Permission>(static_cast<std::uint8_t>(a) & static_cast<std::uint8_t>(b));
}
constexpr Permission operator~(Permission a) {
  return static_cast<Permission>(~static_cast<std::uint8_t>(a) & 31);
}
constexpr std::uint8_t bits(Permission p) {
  return static_cast<std::uint8_t>(p);
}

// True when every bit of `required` is granted (kNone is always granted).
constexpr bool has_all(Permission granted, Permission required) {
  return (bits(granted) & bits(required)) == bits(required);
}

// Permission from stored integer bits; bits outside FULL are dropped.
constexpr Permission permission_from_bits(std::int64_t v) {
  return static_cast<Permission>(static_cast<std::uint8_t>(v) & 31);
}

// The flag name as Python's Flag.name prints it: "READ", "READ|EXECUTE", "CRUD", "FULL",
// "NONE". Used in denial messages ("Agent lacks READ permission").
std::string permission_name(Permission p);

}  // namespace refcache
