// open_backend(url): one URL form for every backend (DESIGN.md section 7).
#include <memory>
#include <string>

#include "refcache/backend.hpp"
#include "refcache/errors.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/redis_backend.hpp"
#include "refcache/redis_config.hpp"
#include "refcache/sqlite_backend.hpp"

namespace refcache {

namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// "sqlite:PATH", "sqlite:///abs/path", "sqlite::memory:", "sqlite:" (default path).
std::string sqlite_path_of(std::string_view url) {
  std::string_view rest = url.substr(7);  // after "sqlite:"
  if (starts_with(rest, "//")) {
    rest.remove_prefix(2);
    // sqlite:///abs/path -> /abs/path; sqlite://relative -> relative
    return std::string(rest);
  }
  return std::string(rest);
}

}  // namespace

std::shared_ptr<Backend> open_backend(std::string_view url) {
  if (url.empty()) {
    auto redis_url = process_env("REDIS_URL");
    auto redis_host = process_env("REDIS_HOST");
    if ((redis_url && !redis_url->empty()) || (redis_host && !redis_host->empty()))
      return std::make_shared<RedisBackend>(resolve_redis_options());
    return std::make_shared<SQLiteBackend>(SQLiteOptions{});
  }
  if (url == "memory:" || url == "memory://") return std::make_shared<MemoryBackend>();
  if (starts_with(url, "sqlite:")) {
    SQLiteOptions o;
    o.path = sqlite_path_of(url);
    return std::make_shared<SQLiteBackend>(std::move(o));
  }
  if (starts_with(url, "redis://") || starts_with(url, "rediss://") ||
      starts_with(url, "redis+sentinel://") || starts_with(url, "rediss+sentinel://") ||
      starts_with(url, "redis+cluster://") || starts_with(url, "rediss+cluster://")) {
    RedisSettings s;
    s.url = std::string(url);
    return std::make_shared<RedisBackend>(resolve_redis_options(s));
  }
  // Only the scheme is echoed: the rest of a mistyped URL may hold a password.
  std::string scheme(url.substr(0, url.find(':')));
  throw InvalidArgument("unknown backend URL scheme '" + scheme +
                        "' (expected memory:, sqlite:PATH, sqlite::memory:, redis://..., "
                        "rediss://..., redis+sentinel://... or redis+cluster://...)");
}

}  // namespace refcache
