// check [--repair]: finds the records a store holds that its readers cannot use.
//
// Over every backend: entries whose stored value does not decode (CorruptEntry). SQLite also:
// key bindings naming no entry, and what PRAGMA integrity_check reports (tables and their
// indexes disagreeing). Redis on one node also: entries missing from their namespace index
// (invisible to listing and clearing). --repair deletes undecodable entries and orphaned
// bindings, rebuilds SQLite's indexes (REINDEX) and re-indexes unindexed Redis entries.
// (Redis index members whose entry is gone need no check: listing drops them as it meets
// them.)
#include <boost/json/serialize.hpp>
#include <ostream>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "refcache/errors.hpp"
#include "table_output.hpp"
#if REFCACHE_WITH_REDIS
#include "refcache/redis_backend.hpp"
#endif
#if REFCACHE_WITH_SQLITE
#include <sqlite3.h>

#include "refcache/sqlite_backend.hpp"
#endif

namespace refcache::admin {

namespace json = boost::json;

namespace {

// One kind of damage found: what, how many, which records (the first few), whether repaired.
struct Finding {
  std::string kind;
  std::vector<std::string> records;
  std::size_t repaired = 0;
};

#if REFCACHE_WITH_SQLITE
// Key bindings whose ref id names no entry (the backend deletes bindings with their entries,
// so these come from damage or from writers that bypass it). Repaired by deleting them.
Finding sqlite_orphaned_bindings(const std::string& path, bool repair) {
  Finding f{"key binding naming no entry", {}, 0};
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw BackendUnavailable("cannot open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  const char* select =
      "SELECT namespace, key, ref_id FROM refcache_key_bindings b WHERE NOT EXISTS "
      "(SELECT 1 FROM cache_entries e WHERE e.key = b.ref_id)";
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db, select, -1, &q, nullptr) == SQLITE_OK) {
    while (sqlite3_step(q) == SQLITE_ROW) {
      auto text = [&](int i) {
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(q, i));
        return std::string(t ? t : "");
      };
      f.records.push_back(text(0) + "/" + text(1) + " -> " + text(2));
    }
  }
  sqlite3_finalize(q);
  if (repair && !f.records.empty()) {
    const char* del =
        "DELETE FROM refcache_key_bindings WHERE NOT EXISTS "
        "(SELECT 1 FROM cache_entries e WHERE e.key = refcache_key_bindings.ref_id)";
    if (sqlite3_exec(db, del, nullptr, nullptr, nullptr) == SQLITE_OK)
      f.repaired = static_cast<std::size_t>(sqlite3_changes(db));
  }
  sqlite3_close(db);
  return f;
}

// What PRAGMA integrity_check reports (rows missing from an index, malformed pages), and
// REINDEX as the repair of the index damage. Damage REINDEX cannot mend stays reported.
Finding sqlite_integrity(const std::string& path, bool repair) {
  Finding f{"SQLite integrity_check", {}, 0};
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw BackendUnavailable("cannot open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db, 5000);
  auto run_check = [&] {
    std::vector<std::string> problems;
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, nullptr) == SQLITE_OK) {
      while (sqlite3_step(q) == SQLITE_ROW) {
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
        std::string line = t ? t : "";
        if (line != "ok") problems.push_back(line);
      }
    }
    sqlite3_finalize(q);
    return problems;
  };
  f.records = run_check();
  if (repair && !f.records.empty() &&
      sqlite3_exec(db, "REINDEX", nullptr, nullptr, nullptr) == SQLITE_OK) {
    std::size_t left = run_check().size();
    f.repaired = f.records.size() > left ? f.records.size() - left : 0;
  }
  sqlite3_close(db);
  return f;
}
#endif

}  // namespace

int run_check(Backend& b, const CommandContext& c) {
  const bool repair = c.cl.repair;
  std::vector<Finding> findings;

  // Every listed ref id must give a decodable entry.
  Finding corrupt{"value does not decode", {}, 0};
  std::vector<std::string> ids = b.keys();
  {
    ProgressBar bar("check", ids.size(), c.cl.progress);
    for (const auto& id : ids) {
      bar.advance();
      try {
        (void)b.get(id);
      } catch (const CorruptEntry&) {
        corrupt.records.push_back(id);
      }
    }
    bar.finish();
  }
  if (repair) {
    for (const auto& id : corrupt.records) corrupt.repaired += b.remove(id) ? 1 : 0;
  }
  findings.push_back(std::move(corrupt));

#if REFCACHE_WITH_SQLITE
  if (auto* s = dynamic_cast<SQLiteBackend*>(&b); s != nullptr && s->path() != ":memory:") {
    findings.push_back(sqlite_orphaned_bindings(s->path(), repair));
    findings.push_back(sqlite_integrity(s->path(), repair));
  }
#endif
#if REFCACHE_WITH_REDIS
  if (auto* r = dynamic_cast<RedisBackend*>(&b); r != nullptr) {
    Finding unindexed{"entry missing from its namespace index", {}, 0};
    std::size_t n = r->reindex(/*dry_run=*/!repair);
    for (std::size_t i = 0; i < n; ++i) unindexed.records.emplace_back();
    if (repair) unindexed.repaired = n;
    findings.push_back(std::move(unindexed));
  }
#endif

  std::size_t damaged = 0, repaired = 0;
  for (const auto& f : findings) {
    damaged += f.records.size();
    repaired += f.repaired;
  }
  if (c.cl.json) {
    json::array arr;
    for (const auto& f : findings) {
      json::array recs;
      for (const auto& r : f.records)
        if (!r.empty()) recs.emplace_back(r);
      arr.push_back(json::object{{"kind", f.kind},
                                 {"count", f.records.size()},
                                 {"records", std::move(recs)},
                                 {"repaired", f.repaired}});
    }
    c.out << json::serialize(json::object{{"backend", b.kind()},
                                          {"checked", ids.size()},
                                          {"damaged", damaged},
                                          {"repaired", repaired},
                                          {"findings", std::move(arr)}})
          << '\n';
  } else {
    Table t({"DAMAGE", "FOUND", "REPAIRED"});
    for (const auto& f : findings)
      t.add_row({f.kind, std::to_string(f.records.size()), std::to_string(f.repaired)});
    c.out << "checked " << ids.size() << " entries of a " << b.kind() << " store\n";
    t.print(c.out);
    for (const auto& f : findings)
      for (const auto& r : f.records)
        if (!r.empty()) c.out << "  " << f.kind << ": " << r << '\n';
  }
  // Damage found and not all of it repaired is a failure; fully repaired damage is not.
  return damaged > repaired ? 1 : 0;
}

}  // namespace refcache::admin
