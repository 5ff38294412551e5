// Entry blob compression of RedisBackend (see redis_compression.hpp).
#include "refcache/backends/redis_compression.hpp"

#include <zstd.h>

#include <charconv>

#include "refcache/entry_codec.hpp"
#include "refcache/errors.hpp"

namespace refcache::redis_detail {

namespace {
constexpr char kZstdTag[] = {'\0', 'z', 's', 't'};
}  // namespace

std::string pack_blob(std::string blob, std::string_view ns, std::size_t min_bytes, int level) {
  if (min_bytes == 0 || blob.size() < min_bytes) return blob;
  std::string out(kZstdTag, sizeof kZstdTag);
  out += std::to_string(ns.size());
  out += ':';
  out.append(ns);
  std::size_t head = out.size();
  std::size_t bound = ZSTD_compressBound(blob.size());
  out.resize(head + bound);
  std::size_t n = ZSTD_compress(out.data() + head, bound, blob.data(), blob.size(), level);
  if (ZSTD_isError(n) || head + n >= blob.size()) return blob;
  out.resize(head + n);
  return out;
}

CacheEntry unpack_entry(std::string_view ref_id, std::string_view blob) {
  if (blob.size() < sizeof kZstdTag ||
      blob.compare(0, sizeof kZstdTag, std::string_view(kZstdTag, sizeof kZstdTag)) != 0)
    return decode_entry_blob(ref_id, blob);
  auto bad = [&](const char* what) -> CacheEntry {
    throw CorruptEntry("corrupt cache entry '" + std::string(ref_id) + "': compressed blob " +
                       what);
  };
  std::string_view rest = blob.substr(sizeof kZstdTag);
  auto colon = rest.find(':');
  if (colon == std::string_view::npos) return bad("has no namespace header");
  std::size_t nslen = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + colon, nslen);
  if (ec != std::errc() || p != rest.data() + colon || colon + 1 + nslen > rest.size())
    return bad("has a bad namespace header");
  std::string_view frame = rest.substr(colon + 1 + nslen);
  unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
  constexpr unsigned long long kMax = 1ULL << 31;
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMax)
    return bad("is not a zstd frame of known size");
  std::string text(static_cast<std::size_t>(size), '\0');
  std::size_t n = ZSTD_decompress(text.data(), text.size(), frame.data(), frame.size());
  if (ZSTD_isError(n) || n != size) return bad("does not decompress");
  return decode_entry_blob(ref_id, text);
}

}  // namespace refcache::redis_detail
