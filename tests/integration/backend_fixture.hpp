// Backends under test: one factory per kind, used by the parametrized contract suite.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "integration/redis_cluster.hpp"
#include "integration/redis_server.hpp"
#include "refcache/backend.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/redis_backend.hpp"
#include "refcache/sqlite_backend.hpp"

namespace refcache::testing {

// One redis-server per test process, started on first use.
inline RedisServer& shared_redis() {
  static RedisServer server;
  return server;
}

// One Redis Cluster (3 primaries, 3 replicas) per test process, started on first use.
inline RedisCluster& shared_cluster() {
  static RedisCluster cluster;
  return cluster;
}

// One redis-server with a TLS port (and a plain one for inspection) per test process.
inline RedisServer& shared_tls_redis() {
  static RedisServer server(RedisServer::Options{.tls = true});
  return server;
}

inline std::shared_ptr<CacheEntry> make_entry(boost::json::value value, std::string ns = "public",
                                              std::optional<double> ttl_seconds = std::nullopt) {
  auto e = std::make_shared<CacheEntry>();
  e->value = std::move(value);
  e->ns = std::move(ns);
  e->created_at = unix_now();
  if (ttl_seconds) e->expires_at = e->created_at + *ttl_seconds;
  return e;
}

enum class BackendKind { kMemory, kSqliteMemory, kSqliteFile, kRedis, kRedisTls, kRedisCluster };

inline std::string kind_name(BackendKind k) {
  switch (k) {
    case BackendKind::kMemory:
      return "memory";
    case BackendKind::kSqliteMemory:
      return "sqlite_memory";
    case BackendKind::kSqliteFile:
      return "sqlite_file";
    case BackendKind::kRedis:
      return "redis";
    case BackendKind::kRedisTls:
      return "redis_tls";
    case BackendKind::kRedisCluster:
      return "redis_cluster";
  }
  return "?";
}

// Owns whatever the backend needs (temporary folder) and cleans it up.
struct BackendUnderTest {
  BackendKind kind;
  std::filesystem::path dir;
  std::shared_ptr<Backend> backend;

  explicit BackendUnderTest(BackendKind k) : kind(k) {
    switch (k) {
      case BackendKind::kMemory:
        backend = std::make_shared<MemoryBackend>();
        break;
      case BackendKind::kSqliteMemory: {
        SQLiteOptions o;
        o.path = ":memory:";
        backend = std::make_shared<SQLiteBackend>(o);
        break;
      }
      case BackendKind::kSqliteFile: {
        dir = make_temp_dir("sqlite");
        SQLiteOptions o;
        o.path = (dir / "cache.db").string();
        backend = std::make_shared<SQLiteBackend>(o);
        break;
      }
      case BackendKind::kRedis: {
        auto& server = shared_redis();
        RawRedis(server.port(), server.password()).cmd({"FLUSHALL"});
        backend = std::make_shared<RedisBackend>(server.options());
        break;
      }
      case BackendKind::kRedisTls: {
        auto& server = shared_tls_redis();
        RawRedis(server.port(), server.password()).cmd({"FLUSHALL"});
        backend = std::make_shared<RedisBackend>(server.tls_options());
        break;
      }
      case BackendKind::kRedisCluster: {
        auto& cluster = shared_cluster();
        cluster.flush_all();
        backend = std::make_shared<RedisBackend>(cluster.options());
        break;
      }
    }
  }
  // A second, independent handle on the same store (same file / same Redis); for memory and
  // ":memory:" there is none (nullptr).
  std::shared_ptr<Backend> reopen() const {
    switch (kind) {
      case BackendKind::kSqliteFile: {
        SQLiteOptions o;
        o.path = (dir / "cache.db").string();
        return std::make_shared<SQLiteBackend>(o);
      }
      case BackendKind::kRedis:
        return std::make_shared<RedisBackend>(shared_redis().options());
      case BackendKind::kRedisTls:
        return std::make_shared<RedisBackend>(shared_tls_redis().tls_options());
      case BackendKind::kRedisCluster:
        return std::make_shared<RedisBackend>(shared_cluster().options());
      default:
        return nullptr;
    }
  }
  ~BackendUnderTest() {
    backend.reset();
    if (!dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
};

}  // namespace refcache::testing
