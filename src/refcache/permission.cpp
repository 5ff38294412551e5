#include "refcache/permission.hpp"

namespace refcache {

std::string permission_name(Permission p) {
  // Named members first (Python's Flag prefers an exact alias), then single bits ascending.
  switch (bits(p)) {
    case 0:
      return "NONE";
    case 15:
      return "CRUD";
    case 31:
      return "FULL";
    default:
      break;
  }
  static constexpr const char* kNames[] = {"READ", "WRITE", "UPDATE", "DELETE", "EXECUTE"};
  std::string out;
  for (int i = 0; i < 5; ++i) {
    if (bits(p) & (1u << i)) {
      if (!out.empty()) out += '|';
      out += kNames[i];
    }
  }
  return out;
}

}  // namespace refcache
