// Backend URL parsing: open_backend's scheme dispatch and the Redis URL / environment
// resolution. Fuzzed text never opens a file or a connection: sqlite: and redis:// URLs go
// through the parsers only (open_backend would create the file / connect).
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_util.hpp"
#include "refcache/backend.hpp"
#include "refcache/errors.hpp"
#include "refcache/redis_config.hpp"

namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in = as_view(data, size);
  // "url\nREDIS_HOST\nREDIS_PORT\nREDIS_DB\nREDIS_PASSWORD\nREDIS_SSL": the first line is the
  // URL, the others feed the environment lookup.
  std::string fields[6];
  std::size_t n = 0, start = 0;
  for (std::size_t i = 0; i <= in.size() && n < 6; ++i)
    if (i == in.size() || in[i] == '\n') {
      fields[n++] = std::string(in.substr(start, i - start));
      start = i + 1;
    }
  const std::string& url = fields[0];

  try {
    refcache::RedisOptions o = refcache::parse_redis_url(url);
    std::string red = o.redacted_address();
    FUZZ_CHECK(o.port >= 1 && o.port <= 65535, "port in range");
    FUZZ_CHECK(o.db >= 0, "db >= 0");
    if (!o.password.empty())
      FUZZ_CHECK(red.find(":***@") != std::string::npos, "password redacted");
  } catch (const refcache::InvalidArgument&) {
  }

  refcache::EnvLookup env = [&](const char* name) -> std::optional<std::string> {
    std::string_view k = name;
    int idx = k == "REDIS_HOST"       ? 1
              : k == "REDIS_PORT"     ? 2
              : k == "REDIS_DB"       ? 3
              : k == "REDIS_PASSWORD" ? 4
              : k == "REDIS_SSL"      ? 5
                                      : -1;
    if (idx < 0 || idx >= static_cast<int>(n)) return std::nullopt;
    return fields[idx];
  };
  try {
    refcache::RedisSettings s;
    if (!url.empty() && (data[0] & 1)) s.url = url;
    (void)refcache::resolve_redis_options(s, env).redacted_address();
  } catch (const refcache::InvalidArgument&) {
  }

  if (!url.empty() && !starts_with(url, "sqlite:") && !starts_with(url, "redis://") &&
      !starts_with(url, "rediss://") && !starts_with(url, "redis+sentinel://") &&
      !starts_with(url, "rediss+sentinel://") && !starts_with(url, "redis+cluster://") &&
      !starts_with(url, "rediss+cluster://")) {
    try {
      auto b = refcache::open_backend(url);
      FUZZ_CHECK(b && b->kind() == "memory", "only memory: opens without a path or a server");
    } catch (const refcache::InvalidArgument&) {
    }
  }
  return 0;
}
