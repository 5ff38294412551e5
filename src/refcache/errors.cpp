#include "refcache/errors.hpp"

namespace refcache {

namespace {
std::string circular_message(const std::string& ref_id, const std::vector<std::string>& chain) {
  std::string msg = "Circular reference detected: ";
  for (const auto& r : chain) {
    msg += r;
    msg += " -> ";
  }
  msg += ref_id;
  return msg;
}
}  // namespace

CircularReference::CircularReference(std::string ref_id, std::vector<std::string> chain)
    : Error(circular_message(ref_id, chain)),
      ref_id_(std::move(ref_id)),
      chain_(std::move(chain)) {}

}  // namespace refcache
