// The SQL of the SQLite backend: its schema and every statement it runs. Internal to
// src/refcache/backends (sqlite_backend.cpp).
//
// The schema is the reference's (cache_entries, with its columns and indexes) plus refcache's
// own tables for key bindings, claims and tasks, so that a file written by either is read by
// the other. Each statement is a distinct constant because its address keys the
// per-connection cache of prepared statements (sqlite_connection.hpp): the same text under
// two names would be prepared twice, which is harmless, but one name is one statement.
#pragma once

namespace refcache::sqlite {

inline constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS cache_entries (
    key TEXT PRIMARY KEY,
    value_json TEXT NOT NULL,
    namespace TEXT NOT NULL,
    policy_json TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    metadata_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_namespace ON cache_entries(namespace);
CREATE INDEX IF NOT EXISTS idx_expires_at ON cache_entries(expires_at);
CREATE TABLE IF NOT EXISTS refcache_key_bindings (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    expires_at REAL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS idx_refcache_key_bindings_ref ON refcache_key_bindings(ref_id);
CREATE TABLE IF NOT EXISTS refcache_claims (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS refcache_tasks (
    ref_id TEXT PRIMARY KEY,
    record_json TEXT NOT NULL,
    expires_at REAL
);
)sql";

// Statements (their addresses key the per-connection statement cache).
inline constexpr const char* kGet =
    "SELECT value_json, namespace, policy_json, created_at, expires_at, metadata_json "
    "FROM cache_entries WHERE key = ?1";
inline constexpr const char* kNsOf = "SELECT namespace FROM cache_entries WHERE key = ?1";
inline constexpr const char* kUpsert =
    "INSERT OR REPLACE INTO cache_entries (key, value_json, namespace, policy_json, created_at, "
    "expires_at, metadata_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
inline constexpr const char* kDeleteEntry = "DELETE FROM cache_entries WHERE key = ?1";
inline constexpr const char* kDeleteExpiredEntry =
    "DELETE FROM cache_entries WHERE key = ?1 AND expires_at IS NOT NULL AND expires_at <= ?2";
inline constexpr const char* kDeleteBindingsOf =
    "DELETE FROM refcache_key_bindings WHERE ref_id = ?1";
inline constexpr const char* kBindingOf =
    "SELECT ref_id FROM refcache_key_bindings WHERE namespace = ?1 AND key = ?2";
inline constexpr const char* kUpsertBinding =
    "INSERT OR REPLACE INTO refcache_key_bindings (namespace, key, ref_id, expires_at) "
    "VALUES (?1, ?2, ?3, ?4)";
inline constexpr const char* kDeleteOtherBindings =
    "DELETE FROM refcache_key_bindings WHERE ref_id = ?1 AND NOT (namespace = ?2 AND key = ?3)";
inline constexpr const char* kFindByKey =
    "SELECT b.ref_id FROM refcache_key_bindings b JOIN cache_entries e ON e.key = b.ref_id "
    "WHERE b.namespace = ?1 AND b.key = ?2 AND (b.expires_at IS NULL OR b.expires_at > ?3) "
    "AND (e.expires_at IS NULL OR e.expires_at > ?3)";
inline constexpr const char* kBindingsOfRef =
    "SELECT namespace, key FROM refcache_key_bindings WHERE ref_id = ?1 LIMIT 1";
inline constexpr const char* kExists =
    "SELECT 1 FROM cache_entries WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)";
// In rowid order, which idx_namespace(namespace) already has (its entries are
// (namespace, rowid)), so a page costs O(page) without a sort. The cursor is the last rowid.
inline constexpr const char* kListNs =
    "SELECT rowid, key FROM cache_entries WHERE namespace = ?1 AND rowid > ?2 "
    "AND (expires_at IS NULL OR expires_at > ?3) ORDER BY rowid LIMIT ?4";
inline constexpr const char* kListAll =
    "SELECT key FROM cache_entries WHERE key > ?1 AND (expires_at IS NULL OR expires_at > ?2) "
    "ORDER BY key LIMIT ?3";
inline constexpr const char* kClearNsBindings =
    "DELETE FROM refcache_key_bindings WHERE ref_id IN "
    "(SELECT key FROM cache_entries WHERE namespace = ?1)";
inline constexpr const char* kClearNs = "DELETE FROM cache_entries WHERE namespace = ?1";
inline constexpr const char* kClearAllBindings = "DELETE FROM refcache_key_bindings";
inline constexpr const char* kClearAll = "DELETE FROM cache_entries";
inline constexpr const char* kPurgeEntries =
    "DELETE FROM cache_entries WHERE expires_at IS NOT NULL AND expires_at <= ?1 "
    "RETURNING key, namespace";
inline constexpr const char* kPurgeBindings =
    "DELETE FROM refcache_key_bindings WHERE (expires_at IS NOT NULL AND expires_at <= ?1) "
    "OR ref_id NOT IN (SELECT key FROM cache_entries)";
inline constexpr const char* kPurgeClaims = "DELETE FROM refcache_claims WHERE expires_at <= ?1";
inline constexpr const char* kPurgeTasks =
    "DELETE FROM refcache_tasks WHERE expires_at IS NOT NULL AND expires_at <= ?1";
inline constexpr const char* kClaimOf =
    "SELECT owner, expires_at FROM refcache_claims WHERE name = ?1";
inline constexpr const char* kUpsertClaim =
    "INSERT OR REPLACE INTO refcache_claims (name, owner, expires_at) VALUES (?1, ?2, ?3)";
inline constexpr const char* kReleaseClaim =
    "DELETE FROM refcache_claims WHERE name = ?1 AND owner = ?2";
inline constexpr const char* kPutTask =
    "INSERT OR REPLACE INTO refcache_tasks (ref_id, record_json, expires_at) VALUES (?1, ?2, ?3)";
inline constexpr const char* kGetTask =
    "SELECT record_json, expires_at FROM refcache_tasks WHERE ref_id = ?1";
inline constexpr const char* kDeleteTask = "DELETE FROM refcache_tasks WHERE ref_id = ?1";
inline constexpr const char* kCount = "SELECT COUNT(*) FROM cache_entries";
inline constexpr const char* kBegin = "BEGIN IMMEDIATE";
inline constexpr const char* kCommit = "COMMIT";

}  // namespace refcache::sqlite
