// open_backend(url): one URL form for every backend (docs/configuration.md). A backend left out
// of the build (REFCACHE_WITH_SQLITE, REFCACHE_WITH_REDIS) is refused by name.
#include <cstdlib>
#include <memory>
#include <string>

#include "refcache/backend.hpp"
#include "refcache/errors.hpp"
#include "refcache/memory_backend.hpp"
#if REFCACHE_WITH_REDIS
#include "refcache/redis_backend.hpp"
#include "refcache/redis_config.hpp"
#endif
#if REFCACHE_WITH_SQLITE
#include "refcache/sqlite_backend.hpp"
#endif

namespace refcache {

namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// "sqlite:PATH", "sqlite:///abs/path", "sqlite::memory:", "sqlite:" (default path).
[[maybe_unused]] std::string sqlite_path_of(std::string_view url) {
  std::string_view rest = url.substr(7);  // after "sqlite:"
  if (starts_with(rest, "//")) {
    rest.remove_prefix(2);
    // sqlite:///abs/path -> /abs/path; sqlite://relative -> relative
    return std::string(rest);
  }
  return std::string(rest);
}

bool is_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

bool is_redis_url(std::string_view url) {
  for (std::string_view scheme : {"redis://", "rediss://", "redis+sentinel://",
                                  "rediss+sentinel://", "redis+cluster://", "rediss+cluster://"})
    if (starts_with(url, scheme)) return true;
  return false;
}

[[noreturn, maybe_unused]] void not_built(std::string_view what, std::string_view option) {
  throw InvalidArgument("this build of refcache has no " + std::string(what) +
                        " backend (configured with " + std::string(option) + "=OFF)");
}

}  // namespace

std::shared_ptr<Backend> open_backend(std::string_view url) {
  if (url.empty()) {
    if (is_set("REDIS_URL") || is_set("REDIS_HOST")) {
#if REFCACHE_WITH_REDIS
      return std::make_shared<RedisBackend>(resolve_redis_options());
#else
      not_built("Redis", "REFCACHE_WITH_REDIS");
#endif
    }
#if REFCACHE_WITH_SQLITE
    return std::make_shared<SQLiteBackend>(SQLiteOptions{});
#else
    return std::make_shared<MemoryBackend>();
#endif
  }
  if (url == "memory:" || url == "memory://") return std::make_shared<MemoryBackend>();
  if (starts_with(url, "sqlite:")) {
#if REFCACHE_WITH_SQLITE
    SQLiteOptions o;
    o.path = sqlite_path_of(url);
    return std::make_shared<SQLiteBackend>(std::move(o));
#else
    not_built("SQLite", "REFCACHE_WITH_SQLITE");
#endif
  }
  if (is_redis_url(url)) {
#if REFCACHE_WITH_REDIS
    RedisSettings s;
    s.url = std::string(url);
    return std::make_shared<RedisBackend>(resolve_redis_options(s));
#else
    not_built("Redis", "REFCACHE_WITH_REDIS");
#endif
  }
  // Only the scheme is echoed: the rest of a mistyped URL may hold a password.
  std::string scheme(url.substr(0, url.find(':')));
  throw InvalidArgument("unknown backend URL scheme '" + scheme +
                        "' (expected memory:, sqlite:PATH, sqlite::memory:, redis://..., "
                        "rediss://..., redis+sentinel://... or redis+cluster://...)");
}

}  // namespace refcache
