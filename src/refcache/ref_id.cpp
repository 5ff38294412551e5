#include "refcache/ref_id.hpp"

#include <cstdint>

#include "refcache/random.hpp"

namespace refcache {

namespace {

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_name_char(char c) {
  return is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-';
}
bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

}  // namespace

bool is_cache_name(std::string_view name) {
  if (name.empty() || !is_alpha(name[0])) return false;
  for (char c : name)
    if (!is_name_char(c)) return false;
  return true;
}

std::string make_ref_id(std::string_view cache_name) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::uint64_t bits = random_u64();
  std::string out;
  out.reserve(cache_name.size() + 1 + kRefIdHexDigits);
  out.append(cache_name);
  out.push_back(':');
  for (int shift = 4 * static_cast<int>(kRefIdHexDigits) - 4; shift >= 0; shift -= 4)
    out.push_back(kHex[(bits >> shift) & 0xF]);
  return out;
}

std::optional<RefIdParts> parse_ref_id(std::string_view s) {
  const std::size_t colon = s.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view name = s.substr(0, colon);
  const std::string_view hex = s.substr(colon + 1);
  if (!is_cache_name(name) || hex.size() < 8) return std::nullopt;
  for (char c : hex)
    if (!is_lower_hex(c)) return std::nullopt;
  return RefIdParts{name, hex};
}

}  // namespace refcache
