// RedisOptions: where a RedisBackend connects and how it behaves when Redis misbehaves.
//
// Sources, highest first (docs/configuration.md): a URL (explicit, else REDIS_URL) wins over
// everything it names; otherwise explicit settings, then the reference's environment
// variables REDIS_HOST, REDIS_PORT, REDIS_DB, REDIS_PASSWORD, REDIS_SSL (true/1/yes), then
// the defaults below. URL form: redis://[[user]:password@]host[:port][/db][?params];
// rediss:// is TLS. Parameters (redis-py's names where redis-py has one; times in seconds):
// db, socket_timeout, socket_connect_timeout, max_connections (pool_size), ssl_ca_certs,
// ssl_certfile, ssl_keyfile, ssl_check_hostname; ours: ssl_server_name, call_timeout,
// max_retries, retry_backoff_min, retry_backoff_max, breaker_threshold, breaker_open_time,
// compress_min_bytes, compression_level, expiry_sweep_interval, key_prefix (see
// docs/backends.md).
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
#include <vector>

#include "refcache/entry.hpp"

namespace refcache {

struct RedisOptions {
  std::string host = "localhost";  // host name or address. Default: localhost
  int port = 6379;                 // TCP port. Default: 6379
  int db = 0;                      // database number selected after connecting. Default: 0
  std::string user{};              // ACL user name; empty = AUTH with the password only
  std::string password{};          // empty = no AUTH. Default: empty
  bool tls = false;                // rediss:// (TLS 1.2+ through OpenSSL). Default: false

  // TLS (with tls): PEM file of the CA certificates that sign the server's certificate
  // (empty = the system's CA store); optional client certificate (chain) and key for servers
  // that demand one (tls-auth-clients); the name the server's certificate must carry (empty =
  // host; an IP address is checked against the certificate's IP entries). Turning
  // tls_check_hostname off accepts any name signed by the CA (the chain is still verified).
  std::string tls_ca_file{};
  std::string tls_cert_file{};
  std::string tls_key_file{};  // empty = the key is in tls_cert_file
  std::string tls_server_name{};
  bool tls_check_hostname = true;

  // Time allowed to open a TCP connection (and AUTH/SELECT on it). Default: 2000 ms.
  std::chrono::milliseconds connect_timeout{2000};
  // Time allowed for one command's reply; on expiry the call throws BackendUnavailable and
  // the connection is dropped. Default: 5000 ms (the reference's socket_timeout).
  std::chrono::milliseconds socket_timeout{5000};

  // Connections for commands (the reference's max_connections), opened on demand: a calling
  // thread gets one to itself while one is free; beyond pool_size concurrent callers, threads
  // share them and pipeline their commands. Default: 8.
  std::size_t pool_size = 8;

  // Overall deadline of one call, retries included; each wait for a reply is bounded by
  // min(socket_timeout, what is left). Default: 10000 ms.
  std::chrono::milliseconds call_timeout{10000};
  // Retries of idempotent calls (get, exists, list/keys, find_by_key, get_task, health)
  // after a connection failure or timeout, with exponential backoff between
  // retry_backoff_min and retry_backoff_max and full jitter (a random wait between half and
  // all of the backoff). Writes are never retried: a lost reply does not tell whether the
  // write happened. Defaults: 2 retries, 25 ms, 500 ms.
  int max_retries = 2;
  std::chrono::milliseconds retry_backoff_min{25};
  std::chrono::milliseconds retry_backoff_max{500};
  // Circuit breaker: after breaker_threshold consecutive connection failures the circuit
  // opens and calls fail at once with BackendUnavailable; after breaker_open_time one call
  // is let through as a probe (half-open): success closes the circuit, failure opens it
  // again. 0 disables the breaker. Defaults: 5, 1000 ms.
  int breaker_threshold = 5;
  std::chrono::milliseconds breaker_open_time{1000};

  // Entry blobs of at least this many bytes are stored zstd-compressed (when that is
  // smaller). 0 = never (the default): mcp-refcache 0.2.1 (Python) cannot read compressed
  // entries. Reading handles compressed and plain entries whatever this setting is.
  std::size_t compress_min_bytes = 0;
  int compression_level = 3;  // zstd level, 1 (fastest) .. 19

  // How often this backend sweeps the namespace expiry indexes: entries whose time is up
  // are removed from their index and announced as kExpired to every server sharing the
  // Redis (exactly once: the sweep is one atomic script). 0 disables. Default: 1000 ms.
  std::chrono::milliseconds expiry_sweep_interval{1000};

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

  // Append every change (updated, deleted, cleared, expired) to the capped Redis Stream
  // "<key_prefix>events" ("{refcache-events}:<key_prefix>" on a cluster, one slot) and
  // deliver the changes other processes append to this backend's listeners, read from this
  // backend's own last position so that a dropped connection loses none (one extra
  // connection and thread per backend; docs/backends.md, "Durable invalidation").
  // Default: true.
  bool share_events = true;

  // The approximate cap of the events stream (XADD ... MAXLEN ~ N): a server that falls
  // further behind than this is told to resync (ChangeKind::kResync). At least 1 (0 is an
  // InvalidArgument when the backend is created). Default: 100,000.
  std::size_t events_stream_maxlen = 100000;

  // Sentinel (redis+sentinel://h1:p1,h2:p2/<primary name>[/db]): when `sentinels` is not
  // empty, host and port are ignored; each new connection asks the sentinels, in order, for
  // the address of the primary named sentinel_primary (SENTINEL get-master-addr-by-name),
  // connects to it and checks that it is a primary (ROLE). After a failover the old
  // primary's connections fail or answer READONLY; they are dropped and the next call finds
  // the new primary. sentinel_password (URL parameter sentinel_password) authenticates
  // with the sentinels; empty = none.
  struct HostPort {
    std::string host{};
    int port = 26379;
  };
  std::vector<HostPort> sentinels{};
  std::string sentinel_primary{};
  std::string sentinel_password{};

  // Redis Cluster (redis+cluster://[user:password@]h1:p1[,h2:p2...][?params], rediss+cluster://
  // for TLS): when `cluster_nodes` is not empty, host, port and db are ignored and the seed
  // nodes are asked (CLUSTER SLOTS) which primary serves which hash slot; every command goes
  // to the primary of its key's slot, following MOVED and ASK redirections, and the slot map
  // is refreshed after a redirection or a failed node. Each ref's keys (entry, its namespace
  // index shards, binding set, task) carry the hash tag of one of cluster_groups groups, so
  // every script stays within one slot; listing and clearing visit every group. The cluster
  // key layout differs from the single-node one (docs/backends.md). URL parameter
  // cluster_groups; default 64 (1 .. 16384).
  std::vector<HostPort> cluster_nodes{};
  int cluster_groups = 64;

  // Key prefix; the reference uses "mcp-refcache:" (entries at <prefix>entry:<ref_id>).
  // Change it only to isolate caches that must not be shared with Python servers, or to give a
  // tenant a key space of its own in a shared database (URL parameter key_prefix: 1 to 256
  // characters, no braces, which would name a cluster hash slot, and no spaces).
  std::string key_prefix = "mcp-refcache:";

  // Source of "now" (Unix seconds); null = unix_now. For tests.
  ClockFn clock = nullptr;

  // "redis://user:***@host:port/db" (the password replaced by ***).
  std::string redacted_address() const;
};

// Settings given explicitly (flags, code); unset fields fall back to the environment, then
// to RedisOptions defaults. Timeouts and pool settings come from `base`.
struct RedisSettings {
  std::optional<std::string> url{};
  std::optional<std::string> host{};
  std::optional<int> port{};
  std::optional<int> db{};
  std::optional<std::string> user{};
  std::optional<std::string> password{};
  std::optional<bool> tls{};
  RedisOptions base{};  // timeouts, pool, prefix (host/port/db/... of base are ignored)
};

// Parses a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL (and their TLS
// variants) into `base` (fields the URL names replace base's). Throws InvalidArgument for
// another scheme, a bad port or a bad database number, naming what is wrong.
RedisOptions parse_redis_url(std::string_view url, RedisOptions base = {});

// Looks an environment variable up; returns nullopt when unset. Tests substitute their own.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;
std::optional<std::string> process_env(const char* name);

// Resolves the options from explicit settings, the environment and defaults, as above.
RedisOptions resolve_redis_options(const RedisSettings& settings = {},
                                   const EnvLookup& env = process_env);

}  // namespace refcache
