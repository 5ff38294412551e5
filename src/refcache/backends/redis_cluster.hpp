// Redis Cluster helpers of RedisBackend (private): the key → hash slot function (CRC16/XMODEM
// of the key, or of its {hash tag}, modulo 16384) and the parsing of MOVED/ASK redirections.
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace refcache::redis_detail {

inline constexpr int kClusterSlots = 16384;

namespace cluster_impl {
constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> t{};
  for (int i = 0; i < 256; ++i) {
    std::uint16_t c = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b)
      c = (c & 0x8000) ? static_cast<std::uint16_t>((c << 1) ^ 0x1021)
                       : static_cast<std::uint16_t>(c << 1);
    t[static_cast<std::size_t>(i)] = c;
  }
  return t;
}
inline constexpr std::array<std::uint16_t, 256> kCrc16Table = make_crc16_table();
}  // namespace cluster_impl

// CRC16/XMODEM (polynomial 0x1021, initial value 0), the checksum Redis Cluster uses.
// crc16("123456789") == 0x31C3.
inline std::uint16_t crc16(std::string_view s) {
  std::uint16_t crc = 0;
  for (unsigned char ch : s)
    crc = static_cast<std::uint16_t>((crc << 8) ^
                                     cluster_impl::kCrc16Table[((crc >> 8) ^ ch) & 0xff]);
  return crc;
}

// The hash slot of a key: when the key holds a '{' followed later by a '}' with at least one
// character between them, only what lies between the first '{' and the first '}' after it is
// hashed (the hash tag), so "{user1000}.following" and "{user1000}.followers" share a slot.
inline int key_hash_slot(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) & (kClusterSlots - 1);
}

// A "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>" error reply. The host may be
// empty (the node does not know its own address); the caller then uses the address it
// sent the command to.
struct Redirect {
  bool ask = false;
  int slot = 0;
  std::string host;
  int port = 0;
};

inline std::optional<Redirect> parse_redirect(std::string_view text) {
  Redirect r;
  if (text.rfind("MOVED ", 0) == 0) {
    text.remove_prefix(6);
  } else if (text.rfind("ASK ", 0) == 0) {
    r.ask = true;
    text.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  auto sp = text.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  auto [p, ec] = std::from_chars(text.data(), text.data() + sp, r.slot);
  if (ec != std::errc() || p != text.data() + sp || r.slot < 0 || r.slot >= kClusterSlots)
    return std::nullopt;
  std::string_view addr = text.substr(sp + 1);
  auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = addr.substr(0, colon), port = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto [q, ec2] = std::from_chars(port.data(), port.data() + port.size(), r.port);
  if (ec2 != std::errc() || q != port.data() + port.size() || r.port <= 0 || r.port > 65535)
    return std::nullopt;
  if (host != "?") r.host = std::string(host);
  return r;
}

}  // namespace refcache::redis_detail
