// RedisOptions: where a RedisBackend connects and how it behaves when Redis misbehaves.
//
// Sources, highest first (DESIGN.md section 7): a URL (explicit, else REDIS_URL) wins over
// everything it names; otherwise explicit settings, then the reference's environment
// variables REDIS_HOST, REDIS_PORT, REDIS_DB, REDIS_PASSWORD, REDIS_SSL (true/1/yes), then
// the defaults below. URL form: redis://[[user]:password@]host[:port][/db][?params];
// rediss:// is TLS. Parameters (redis-py's names): db, socket_timeout and
// socket_connect_timeout in seconds, max_connections (pool_size).
//
// The password is never logged nor put into an error message: use redacted_address().
//
// Thread-safety: plain values; the functions are pure apart from reading the environment.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "refcache/entry.hpp"

namespace refcache {

struct RedisOptions {
  std::string host = "localhost";  // host name or address. Default: localhost
  int port = 6379;                 // TCP port. Default: 6379
  int db = 0;                      // database number selected after connecting. Default: 0
  std::string user;                // ACL user name; empty = AUTH with the password only
  std::string password;            // empty = no AUTH. Default: empty
  bool tls = false;                // rediss://; not supported yet (the backend throws)

  // Time allowed to open a TCP connection (and AUTH/SELECT on it). Default: 2000 ms.
  std::chrono::milliseconds connect_timeout{2000};
  // Time allowed for one command's reply; on expiry the call throws BackendUnavailable and
  // the connection is dropped. Default: 5000 ms (the reference's socket_timeout).
  std::chrono::milliseconds socket_timeout{5000};

  // Connections kept at most (the reference's max_connections). Default: 10.
  std::size_t pool_size = 10;
  // Time a call waits for a free connection when all pool_size are busy before throwing
  // BackendUnavailable. Default: 2000 ms.
  std::chrono::milliseconds pool_wait_timeout{2000};

  // After a failed connect, new connects are attempted no sooner than this backoff, which
  // doubles on each consecutive failure up to reconnect_backoff_max and resets on success;
  // meanwhile calls fail fast with BackendUnavailable. The maximum bounds how long service
  // stays down after Redis is back (tests/robustness/redis_restart.mjs measures it); one
  // connect attempt per process every 500 ms costs a down Redis nothing. Defaults: 50 ms,
  // 500 ms.
  std::chrono::milliseconds reconnect_backoff_min{50};
  std::chrono::milliseconds reconnect_backoff_max{500};

  // Connect (and AUTH) once in the constructor so a wrong address or password fails at
  // start-up. Default: true.
  bool connect_on_start = true;

  // Publish every change (updated, deleted, cleared) on the channel "<key_prefix>events" and
  // deliver the changes other processes publish to this backend's listeners (one extra
  // connection and thread per backend). Default: true.
  bool share_events = true;

  // Key prefix; the reference uses "mcp-refcache:" (entries at <prefix>entry:<ref_id>).
  // Change it only to isolate caches that must not be shared with Python servers.
  std::string key_prefix = "mcp-refcache:";

  // Source of "now" (Unix seconds); null = unix_now. For tests.
  ClockFn clock = nullptr;

  // "redis://user:***@host:port/db" (the password replaced by ***).
  std::string redacted_address() const;
};

// Settings given explicitly (flags, code); unset fields fall back to the environment, then
// to RedisOptions defaults. Timeouts and pool settings come from `base`.
struct RedisSettings {
  std::optional<std::string> url;
  std::optional<std::string> host;
  std::optional<int> port;
  std::optional<int> db;
  std::optional<std::string> user;
  std::optional<std::string> password;
  std::optional<bool> tls;
  RedisOptions base;  // timeouts, pool, prefix (host/port/db/... of base are ignored)
};

// Parses a redis:// or rediss:// URL into `base` (fields the URL names replace base's).
// Throws InvalidArgument for another scheme, a bad port or a bad database number.
RedisOptions parse_redis_url(std::string_view url, RedisOptions base = {});

// Looks an environment variable up; returns nullopt when unset. Tests substitute their own.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;
std::optional<std::string> process_env(const char* name);

// Resolves the options from explicit settings, the environment and defaults, as above.
RedisOptions resolve_redis_options(const RedisSettings& settings = {},
                                   const EnvLookup& env = process_env);

}  // namespace refcache
