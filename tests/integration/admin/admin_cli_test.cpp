// The refcache admin CLI against real stores: SQLite files, a redis-server and a Redis
// Cluster started by the tests. Each test runs the built program and checks its output,
// exit code and what it left in the stores.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "integration/admin/calculator_load.hpp"
#include "integration/admin/cli_process.hpp"
#include "integration/redis_cluster.hpp"
#include "integration/redis_server.hpp"
#include "integration/test_util.hpp"
#include "refcache/backend.hpp"
#include "refcache/redis_backend.hpp"
#include "refcache/sqlite_backend.hpp"

namespace refcache::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

const std::string kFixtures = REFCACHE_FIXTURES_DIR;

// A temporary folder removed at the end of the test.
struct TempDir {
  fs::path path = make_temp_dir("admin");
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

EntryPtr make(json::value v, const std::string& ns, std::optional<std::string> owner,
              std::optional<double> ttl) {
  auto e = std::make_shared<CacheEntry>();
  e->value = std::move(v);
  e->ns = ns;
  e->policy.owner = std::move(owner);
  e->policy.agent_permissions = Permission::kRead;
  e->policy.denied_actors = std::vector<std::string>{"agent:evil-*"};
  e->created_at = unix_now();
  if (ttl) e->expires_at = e->created_at + *ttl;
  e->metadata["note"] = "admin-test";
  return e;
}

// Fills `b` with `n` entries over three namespaces, most bound to a key, some with a TTL.
void populate(Backend& b, int n) {
  for (int i = 0; i < n; ++i) {
    std::string ns = i % 3 == 0 ? "public" : (i % 3 == 1 ? "user:alice" : "calc");
    std::string ref = "adm:" + std::to_string(1000 + i);
    json::value v = json::object{{"i", i}, {"text", "value " + std::to_string(i) + " \u00e9"}};
    std::optional<double> ttl;
    if (i % 2 == 0) ttl = 600.0 + i;
    std::optional<std::string> owner;
    if (i % 4 == 0) owner = "user:alice";
    KeyBinding bind{ns, "key(" + std::to_string(i) + ")"};
    b.set(ref, make(std::move(v), ns, owner, ttl), i % 5 == 4 ? nullptr : &bind);
  }
}

// Every entry of `a` is in `b` with the same contents, binding and expiry.
void expect_same_entries(Backend& a, Backend& b) {
  auto ids = a.keys();
  ASSERT_FALSE(ids.empty());
  std::set<std::string> in_b;
  for (auto& id : b.keys()) in_b.insert(id);
  EXPECT_EQ(in_b.size(), ids.size());
  for (const auto& id : ids) {
    SCOPED_TRACE(id);
    EntryPtr x = a.get(id), y = b.get(id);
    ASSERT_NE(x, nullptr);
    ASSERT_NE(y, nullptr);
    EXPECT_EQ(x->value, y->value);
    EXPECT_EQ(x->ns, y->ns);
    EXPECT_EQ(x->policy, y->policy);
    EXPECT_DOUBLE_EQ(x->created_at, y->created_at);
    EXPECT_EQ(x->expires_at.has_value(), y->expires_at.has_value());
    if (x->expires_at && y->expires_at) {
      EXPECT_NEAR(*x->expires_at, *y->expires_at, 1e-3);
    }
    EXPECT_EQ(metadata_object(*x), metadata_object(*y));
    auto bx = a.binding_of(id), by = b.binding_of(id);
    EXPECT_EQ(bx.has_value(), by.has_value());
    if (bx && by) {
      EXPECT_EQ(bx->ns, by->ns);
      EXPECT_EQ(bx->key, by->key);
      EXPECT_EQ(b.find_by_key(bx->ns, bx->key), std::optional<std::string>(id));
    }
  }
}

json::value parse_json(const std::string& text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return v;
}

// --- usage and messages -------------------------------------------------------------------

TEST(AdminCli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(refcache_cli({}).rc, 2);
  EXPECT_EQ(refcache_cli({"frobnicate"}).rc, 2);
  EXPECT_EQ(refcache_cli({"show"}).rc, 2);
  EXPECT_EQ(refcache_cli({"rm", "a", "b"}).rc, 2);
  EXPECT_EQ(refcache_cli({"ls", "--limit", "0"}).rc, 2);
  EXPECT_EQ(refcache_cli({"ls", "--bogus"}).rc, 2);
  EXPECT_EQ(refcache_cli({"migrate", "--from", "sqlite:/tmp/x.db"}).rc, 2);
  EXPECT_EQ(refcache_cli({"ls", "--repair"}).rc, 2);
  CliResult help = refcache_cli({"help"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_NE(help.out.find("usage: refcache"), std::string::npos);
}

TEST(AdminCli, PasswordsAreNeverPrinted) {
  RedisServer redis;
  const std::string secret = "s3cr3t-Wrong-Pass";
  // A refused password, a refused connection, a usage error quoting the URL, the environment.
  std::string wrong = "redis://default:" + secret + "@127.0.0.1:" + std::to_string(redis.port());
  std::string closed =
      "redis://u:" + secret + "@127.0.0.1:" + std::to_string(free_loopback_port()) + "/0";
  for (const auto& r :
       {refcache_cli({"--backend", wrong, "ls"}), refcache_cli({"--backend=" + closed, "stats"}),
        refcache_cli({"ls"}, {"REFCACHE_BACKEND=" + wrong}),
        refcache_cli({"migrate", "--from", wrong, "--to", closed}),
        refcache_cli({"--backend", wrong, "ls", "--limit", "x"})}) {
    EXPECT_NE(r.rc, 0);
    EXPECT_EQ(r.out.find(secret), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(secret), std::string::npos) << r.err;
    EXPECT_FALSE(r.err.empty());
  }
  // The refused connection names its address, with the password masked.
  CliResult r = refcache_cli({"--backend", closed, "ls"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("***"), std::string::npos) << r.err;
  // A migration that works names both stores, masked.
  TempDir dir;
  CliResult m =
      refcache_cli({"migrate", "--from", redis.url(), "--to", "sqlite:" + dir.file("m.db")});
  EXPECT_EQ(m.rc, 0) << m.err;
  EXPECT_NE(m.out.find("from redis://:***@127.0.0.1:"), std::string::npos) << m.out;
  EXPECT_EQ(m.out.find(redis.password()), std::string::npos) << m.out;
  // A percent-encoded password is masked in its decoded form too.
  CliResult enc = refcache_cli(
      {"--backend",
       "redis://u:p%41ss-" + secret + "@127.0.0.1:" + std::to_string(free_loopback_port()), "ls"});
  EXPECT_EQ(enc.rc, 1);
  EXPECT_EQ(enc.err.find("pAss-" + secret), std::string::npos) << enc.err;
  EXPECT_EQ(enc.err.find(secret), std::string::npos) << enc.err;
}

// --- ls, show, rm, clear, stats -----------------------------------------------------------

TEST(AdminCli, InspectsAndDeletesOnSqlite) {
  TempDir dir;
  const std::string url = "sqlite:" + dir.file("cache.db");
  {
    SQLiteBackend b(SQLiteOptions{.path = dir.file("cache.db")});
    populate(b, 12);
  }
  // ls: a table with a header and one row per entry, sorted by ref id.
  CliResult ls = refcache_cli({"--backend", url, "ls"});
  ASSERT_EQ(ls.rc, 0) << ls.err;
  EXPECT_EQ(ls.out.rfind("REF", 0), 0u);
  EXPECT_NE(ls.out.find("adm:1000"), std::string::npos);
  EXPECT_NE(ls.out.find("key(0)"), std::string::npos);
  EXPECT_NE(ls.out.find("user:alice"), std::string::npos);

  CliResult lj = refcache_cli({"--json", "--backend", url, "ls", "calc", "--limit", "2"});
  ASSERT_EQ(lj.rc, 0) << lj.err;
  json::value v = parse_json(lj.out);
  const auto& rows = v.at("entries").as_array();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(v.at("more").as_int64(), 2);  // 4 entries in "calc"
  EXPECT_LT(rows[0].at("ref_id").as_string(), rows[1].at("ref_id").as_string());
  for (const auto& r : rows) {
    EXPECT_EQ(r.at("namespace").as_string(), "calc");
    EXPECT_GT(r.at("size").as_int64(), 0);
  }
  EXPECT_EQ(rows[0].at("ref_id").as_string(), "adm:1002");
  EXPECT_EQ(rows[0].at("key").as_string(), "key(2)");
  EXPECT_GT(rows[0].at("ttl_seconds").as_double(), 500.0);
  EXPECT_LE(rows[0].at("ttl_seconds").as_double(), 602.0);

  // show: metadata and value.
  CliResult show = refcache_cli({"--backend", url, "--json", "show", "adm:1000"});
  ASSERT_EQ(show.rc, 0) << show.err;
  json::value s = parse_json(show.out);
  EXPECT_EQ(s.at("value").at("i").as_int64(), 0);
  EXPECT_EQ(s.at("policy").at("owner").as_string(), "user:alice");
  EXPECT_EQ(s.at("key").as_string(), "key(0)");
  EXPECT_EQ(s.at("metadata").at("note").as_string(), "admin-test");
  CliResult human = refcache_cli({"--backend", url, "show", "adm:1001"});
  ASSERT_EQ(human.rc, 0);
  EXPECT_NE(human.out.find("namespace:  user:alice"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("value 1"), std::string::npos);

  CliResult unknown = refcache_cli({"--backend", url, "show", "adm:nope"});
  EXPECT_EQ(unknown.rc, 1);
  EXPECT_NE(unknown.err.find("unknown ref 'adm:nope'"), std::string::npos);

  // rm: once, then unknown.
  EXPECT_EQ(refcache_cli({"--backend", url, "rm", "adm:1000"}).rc, 0);
  CliResult again = refcache_cli({"--backend", url, "rm", "adm:1000"});
  EXPECT_EQ(again.rc, 1);
  EXPECT_NE(again.err.find("unknown ref"), std::string::npos);

  // stats, per namespace.
  CliResult st = refcache_cli({"--json", "--backend", url, "stats"});
  ASSERT_EQ(st.rc, 0) << st.err;
  json::value stats = parse_json(st.out);
  EXPECT_EQ(stats.at("entries").as_int64(), 11);
  EXPECT_EQ(stats.at("namespaces").at("calc").at("entries").as_int64(), 4);
  EXPECT_EQ(stats.at("namespaces").at("public").at("entries").as_int64(), 3);
  EXPECT_GT(stats.at("bytes").as_int64(), 0);

  // clear: one namespace only.
  CliResult cl = refcache_cli({"--json", "--backend", url, "clear", "calc"});
  ASSERT_EQ(cl.rc, 0);
  EXPECT_EQ(parse_json(cl.out).at("removed").as_int64(), 4);
  SQLiteBackend b(SQLiteOptions{.path = dir.file("cache.db")});
  EXPECT_TRUE(b.keys("calc").empty());
  EXPECT_EQ(b.keys().size(), 7u);
}

// ls, show, rm, clear and stats on a Redis URL (one node, then a cluster).
void inspect_on_redis(const std::string& url, Backend& b) {
  populate(b, 12);
  CliResult ls = refcache_cli({"--json", "--backend", url, "ls", "--limit", "5"});
  ASSERT_EQ(ls.rc, 0) << ls.err;
  json::value v = parse_json(ls.out);
  ASSERT_EQ(v.at("entries").as_array().size(), 5u);
  EXPECT_EQ(v.at("more").as_int64(), 7);
  EXPECT_EQ(v.at("entries").as_array()[0].at("ref_id").as_string(), "adm:1000");
  EXPECT_EQ(v.at("entries").as_array()[0].at("owner").as_string(), "user:alice");
  CliResult show = refcache_cli({"--json", "--backend", url, "show", "adm:1001"});
  ASSERT_EQ(show.rc, 0) << show.err;
  EXPECT_EQ(parse_json(show.out).at("key").as_string(), "key(1)");
  EXPECT_EQ(refcache_cli({"--backend", url, "rm", "adm:1001"}).rc, 0);
  EXPECT_EQ(refcache_cli({"--backend", url, "show", "adm:1001"}).rc, 1);
  EXPECT_EQ(b.find_by_key("user:alice", "key(1)"), std::nullopt);
  CliResult cl = refcache_cli({"--json", "--backend", url, "clear", "calc"});
  ASSERT_EQ(cl.rc, 0);
  EXPECT_EQ(parse_json(cl.out).at("removed").as_int64(), 4);
  CliResult st = refcache_cli({"--json", "--backend", url, "stats"});
  ASSERT_EQ(st.rc, 0);
  json::value stats = parse_json(st.out);
  EXPECT_EQ(stats.at("entries").as_int64(), 7);
  EXPECT_EQ(stats.at("namespaces").at("user:alice").at("entries").as_int64(), 3);
  EXPECT_FALSE(stats.at("namespaces").as_object().contains("calc"));
}

TEST(AdminCli, InspectsAndDeletesOnRedis) {
  RedisServer redis;
  RedisBackend b(redis.options());
  inspect_on_redis(redis.url(), b);
}

TEST(AdminCli, InspectsAndDeletesOnRedisCluster) {
  RedisCluster cluster(1000, 4);
  RedisBackend b(cluster.options());
  inspect_on_redis(cluster.url(), b);
}

TEST(AdminCli, BackendFromTheEnvironment) {
  TempDir dir;
  {
    SQLiteBackend b(SQLiteOptions{.path = dir.file("env.db")});
    populate(b, 3);
  }
  CliResult r =
      refcache_cli({"--json", "stats"}, {"REFCACHE_BACKEND=sqlite:" + dir.file("env.db")});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(parse_json(r.out).at("entries").as_int64(), 3);
}

// --- export / import ----------------------------------------------------------------------

TEST(AdminCli, ExportImportRoundTripsSqliteRedisAndCluster) {
  TempDir dir;
  RedisServer redis;
  RedisCluster cluster(1000, 4);
  const std::string sqlite_url = "sqlite:" + dir.file("src.db");
  {
    SQLiteBackend b(SQLiteOptions{.path = dir.file("src.db")});
    populate(b, 30);
  }
  // SQLite -> file -> Redis.
  CliResult ex = refcache_cli({"--backend", sqlite_url, "export", dir.file("a.jsonl")});
  ASSERT_EQ(ex.rc, 0) << ex.err;
  EXPECT_NE(ex.out.find("exported 30 entries"), std::string::npos) << ex.out;
  CliResult im = refcache_cli({"--json", "--backend", redis.url(), "import", dir.file("a.jsonl")});
  ASSERT_EQ(im.rc, 0) << im.err;
  EXPECT_EQ(parse_json(im.out).at("imported").as_int64(), 30);
  SQLiteBackend src(SQLiteOptions{.path = dir.file("src.db")});
  RedisBackend on_redis(redis.options());
  expect_same_entries(src, on_redis);

  // Redis -> stdout -> stdin -> Redis Cluster; the export on stdout is exactly the lines.
  CliResult out = refcache_cli({"--backend", redis.url(), "export"});
  ASSERT_EQ(out.rc, 0) << out.err;
  EXPECT_NE(out.err.find("exported 30"), std::string::npos);
  int lines = 0;
  std::istringstream ls(out.out);
  for (std::string line; std::getline(ls, line); ++lines) {
    json::value v = parse_json(line);
    EXPECT_TRUE(v.as_object().contains("ref_id"));
    EXPECT_TRUE(v.as_object().contains("policy"));
    EXPECT_TRUE(v.as_object().contains("expires_at"));
  }
  EXPECT_EQ(lines, 30);
  {
    std::ofstream f(dir.file("b.jsonl"));
    f << out.out;
  }
  CliResult ic = refcache_cli({"--backend", cluster.url(), "import"}, {}, dir.file("b.jsonl"));
  ASSERT_EQ(ic.rc, 0) << ic.err;
  RedisBackend on_cluster(cluster.options());
  expect_same_entries(on_redis, on_cluster);

  // Redis Cluster -> file -> a fresh SQLite file: back where it started.
  ASSERT_EQ(refcache_cli({"--backend", cluster.url(), "export", dir.file("c.jsonl")}).rc, 0);
  ASSERT_EQ(
      refcache_cli({"--backend", "sqlite:" + dir.file("dst.db"), "import", dir.file("c.jsonl")}).rc,
      0);
  SQLiteBackend dst(SQLiteOptions{.path = dir.file("dst.db")});
  expect_same_entries(src, dst);
}

TEST(AdminCli, ImportReportsBadLinesAndSkipsExpiredOnes) {
  TempDir dir;
  {
    std::ofstream f(dir.file("in.jsonl"));
    f << R"({"ref_id":"i:1","key":"k1","namespace":"public","value":[1,2],"policy":{"owner":"user:bob"},"ttl_seconds":100})"
      << "\n"
      << "not json\n"
      << R"({"ref_id":"i:2","namespace":"public","value":1,"expires_at":1000})"
      << "\n"
      << R"({"namespace":"public","value":1})"
      << "\n\n";
  }
  CliResult r = refcache_cli(
      {"--json", "--backend", "sqlite:" + dir.file("x.db"), "import", dir.file("in.jsonl")});
  EXPECT_EQ(r.rc, 1);
  json::value v = parse_json(r.out);
  EXPECT_EQ(v.at("imported").as_int64(), 1);
  EXPECT_EQ(v.at("expired").as_int64(), 1);
  EXPECT_EQ(v.at("failed").as_int64(), 2);
  EXPECT_NE(r.err.find("line 2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 4: missing field 'ref_id'"), std::string::npos) << r.err;
  SQLiteBackend b(SQLiteOptions{.path = dir.file("x.db")});
  EntryPtr e = b.get("i:1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->policy.owner, std::optional<std::string>("user:bob"));
  ASSERT_TRUE(e->expires_at.has_value());
  EXPECT_NEAR(*e->expires_at - unix_now(), 100.0, 5.0);
  EXPECT_EQ(b.find_by_key("public", "k1"), std::optional<std::string>("i:1"));
}

// The progress bar goes to stderr only, and only when asked for (stderr here is a file, not a
// terminal): stdout stays exactly the export's lines.
TEST(AdminCli, ProgressBarStaysOnStderr) {
  TempDir dir;
  const std::string url = "sqlite:" + dir.file("p.db");
  {
    SQLiteBackend b(SQLiteOptions{.path = dir.file("p.db")});
    populate(b, 300);
  }
  CliResult quiet = refcache_cli({"--backend", url, "export"});
  ASSERT_EQ(quiet.rc, 0);
  EXPECT_EQ(quiet.err.find('\r'), std::string::npos) << "a bar drawn into a file";
  CliResult bar = refcache_cli({"--backend", url, "--progress", "export"});
  ASSERT_EQ(bar.rc, 0);
  EXPECT_NE(bar.err.find("export [###"), std::string::npos) << bar.err;
  EXPECT_NE(bar.err.find("300/300"), std::string::npos) << bar.err;
  EXPECT_NE(bar.err.find("/s"), std::string::npos) << bar.err;
  int lines = 0;
  std::istringstream in(bar.out);
  for (std::string line; std::getline(in, line); ++lines)
    EXPECT_TRUE(parse_json(line).is_object()) << line;
  EXPECT_EQ(lines, 300);
  // On a terminal the bar is drawn unasked, and --no-progress keeps it off.
  CliResult tty = refcache_cli({"--backend", url, "export"}, {}, {}, /*stderr_tty=*/true);
  ASSERT_EQ(tty.rc, 0);
  EXPECT_NE(tty.err.find("export [###"), std::string::npos) << tty.err;
  EXPECT_EQ(std::count(tty.out.begin(), tty.out.end(), '\n'), 300);
  CliResult off =
      refcache_cli({"--backend", url, "--no-progress", "export"}, {}, {}, /*stderr_tty=*/true);
  ASSERT_EQ(off.rc, 0);
  EXPECT_EQ(off.err.find("export ["), std::string::npos) << off.err;
  CliResult checked = refcache_cli({"--backend", url, "--json", "--progress", "check"});
  EXPECT_EQ(checked.rc, 0);
  EXPECT_EQ(parse_json(checked.out).at("checked").as_int64(), 300);
  EXPECT_NE(checked.err.find("check [###"), std::string::npos);
}

// --- migrate under load -------------------------------------------------------------------

// Migrates `from` into `to` while a refcache-calculator keeps storing into `from`; every ref
// that existed before the migration started must be in the target with its policy, binding
// and a TTL no larger than the source's.
void migrate_under_load(const std::string& from_url, Backend& from, const std::string& to_url,
                        Backend& to) {
  populate(from, 200);
  CalculatorLoad load(from_url);
  // The calculator is storing before the snapshot is taken.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (from.keys("sequences").size() < 20 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GE(from.keys("sequences").size(), 20u) << "the calculator stored nothing";
  // What the source holds when the migration starts (entries and their bindings).
  std::map<std::string, std::pair<EntryPtr, std::optional<KeyBinding>>> before;
  for (const auto& id : from.keys()) before[id] = {from.get(id), from.binding_of(id)};
  CliResult m = refcache_cli({"--json", "migrate", "--from", from_url, "--to", to_url});
  const std::size_t stored_during = from.keys().size() - before.size();
  load.stop();
  ASSERT_EQ(m.rc, 0) << m.err;
  EXPECT_GE(parse_json(m.out).at("copied").as_int64(), static_cast<std::int64_t>(before.size()));
  EXPECT_GT(stored_during, 0u) << "no stores happened during the migration";
  for (const auto& [id, was] : before) {
    SCOPED_TRACE(id);
    const auto& [s, bs] = was;
    ASSERT_NE(s, nullptr);
    EntryPtr t = to.get(id);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(s->policy, t->policy);
    EXPECT_EQ(s->value, t->value);
    // The TTL left in the target is no larger than the source's.
    ASSERT_EQ(s->expires_at.has_value(), t->expires_at.has_value());
    if (s->expires_at) {
      EXPECT_LE(*t->expires_at, *s->expires_at + 1e-3);
    }
    auto bt = to.binding_of(id);
    ASSERT_EQ(bs.has_value(), bt.has_value());
    if (bs) {
      EXPECT_EQ(bs->key, bt->key);
    }
  }
}

TEST(AdminCli, MigratesSqliteToRedisUnderLoad) {
  TempDir dir;
  RedisServer redis;
  SQLiteBackend from(SQLiteOptions{.path = dir.file("live.db")});
  RedisBackend to(redis.options());
  migrate_under_load("sqlite:" + dir.file("live.db"), from, redis.url(), to);
}

TEST(AdminCli, MigratesRedisToClusterUnderLoad) {
  RedisServer redis;
  RedisCluster cluster(1000, 4);
  RedisBackend from(redis.options());
  RedisBackend to(cluster.options());
  migrate_under_load(redis.url(), from, cluster.url(), to);
}

TEST(AdminCli, MigratesClusterToSqliteUnderLoad) {
  TempDir dir;
  RedisCluster cluster(1000, 4);
  RedisBackend from(cluster.options());
  SQLiteBackend to(SQLiteOptions{.path = dir.file("to.db")});
  migrate_under_load(cluster.url(), from, "sqlite:" + dir.file("to.db"), to);
}

// --- check --------------------------------------------------------------------------------

json::value finding(const json::value& report, const std::string& kind) {
  for (const auto& f : report.at("findings").as_array())
    if (f.at("kind").as_string() == kind) return f;
  ADD_FAILURE() << "no finding " << kind << " in " << json::serialize(report);
  return json::object{{"count", -1}};
}

TEST(AdminCli, CheckFindsAndRepairsSqliteDamage) {
  TempDir dir;
  const std::string url = "sqlite:" + dir.file("d.db");
  {
    SQLiteBackend b(SQLiteOptions{.path = dir.file("d.db")});
    populate(b, 10);
  }
  CliResult clean = refcache_cli({"--backend", url, "check"});
  ASSERT_EQ(clean.rc, 0) << clean.out << clean.err;
  {
    RawSqlite raw(dir.file("d.db"));
    raw.exec("UPDATE cache_entries SET value_json = '{not json' WHERE key = 'adm:1001'");
    raw.exec(
        "INSERT INTO refcache_key_bindings (namespace, key, ref_id, expires_at) "
        "VALUES ('calc', 'orphan', 'adm:gone', NULL)");
  }
  CliResult found = refcache_cli({"--json", "--backend", url, "check"});
  EXPECT_EQ(found.rc, 1);
  json::value rep = parse_json(found.out);
  EXPECT_EQ(finding(rep, "value does not decode").at("count").as_int64(), 1);
  EXPECT_EQ(finding(rep, "value does not decode").at("records").as_array()[0].as_string(),
            "adm:1001");
  EXPECT_EQ(finding(rep, "key binding naming no entry").at("count").as_int64(), 1);
  EXPECT_EQ(rep.at("repaired").as_int64(), 0);
  // The human report names them too.
  CliResult human = refcache_cli({"--backend", url, "check"});
  EXPECT_EQ(human.rc, 1);
  EXPECT_NE(human.out.find("adm:1001"), std::string::npos) << human.out;

  CliResult fix = refcache_cli({"--json", "--backend", url, "check", "--repair"});
  EXPECT_EQ(fix.rc, 0) << fix.out;
  EXPECT_EQ(parse_json(fix.out).at("repaired").as_int64(), 2);
  CliResult after = refcache_cli({"--json", "--backend", url, "check"});
  EXPECT_EQ(after.rc, 0) << after.out;
  EXPECT_EQ(parse_json(after.out).at("damaged").as_int64(), 0);
  RawSqlite raw(dir.file("d.db"));
  EXPECT_TRUE(raw.query("SELECT 1 FROM refcache_key_bindings WHERE ref_id = 'adm:gone'").empty());
  EXPECT_EQ(raw.query("SELECT count(*) FROM cache_entries")[0][0], "9");
}

TEST(AdminCli, CheckFindsAndRepairsRedisDamage) {
  RedisServer redis;
  RedisBackend b(redis.options());
  populate(b, 12);
  ASSERT_EQ(refcache_cli({"--backend", redis.url(), "check"}).rc, 0);
  RawRedis raw(redis.port(), redis.password());
  // Garbage in one value; the whole index of "calc" (4 entries) deleted.
  raw.cmd({"SET", "mcp-refcache:entry:adm:1000", "garbage{", "KEEPTTL"});
  ASSERT_EQ(raw.cmd({"DEL", "mcp-refcache:idx:calc"}), "1");
  EXPECT_TRUE(b.keys("calc").empty());
  CliResult found = refcache_cli({"--json", "--backend", redis.url(), "check"});
  EXPECT_EQ(found.rc, 1);
  json::value rep = parse_json(found.out);
  EXPECT_EQ(finding(rep, "value does not decode").at("count").as_int64(), 1);
  EXPECT_EQ(finding(rep, "entry missing from its namespace index").at("count").as_int64(), 4);
  EXPECT_TRUE(b.keys("calc").empty());  // a check without --repair changes nothing

  CliResult fix = refcache_cli({"--json", "--backend", redis.url(), "check", "--repair"});
  EXPECT_EQ(fix.rc, 0) << fix.out;
  EXPECT_EQ(parse_json(fix.out).at("repaired").as_int64(), 5);
  EXPECT_EQ(b.keys("calc").size(), 4u);
  EXPECT_EQ(raw.cmd({"EXISTS", "mcp-refcache:entry:adm:1000"}), "0");
  EXPECT_EQ(refcache_cli({"--backend", redis.url(), "check"}).rc, 0);
}

TEST(AdminCli, CheckFindsAndRepairsClusterDamage) {
  RedisCluster cluster(1000, 4);
  RedisBackend b(cluster.options());
  populate(b, 12);
  ASSERT_EQ(refcache_cli({"--backend", cluster.url(), "check"}).rc, 0);
  // Garbage in one value, on whichever primary holds its slot.
  int written = 0;
  for (int port : cluster.primary_ports()) {
    for (int g = 0; g < 64; ++g) {
      std::string key = "mcp-refcache:{g" + std::to_string(g) + "}:entry:adm:1003";
      if (cluster.cmd(port, {"SET", key, "garbage{", "XX", "KEEPTTL"}) == "OK") ++written;
    }
  }
  ASSERT_EQ(written, 1);
  CliResult found = refcache_cli({"--json", "--backend", cluster.url(), "check"});
  EXPECT_EQ(found.rc, 1);
  EXPECT_EQ(finding(parse_json(found.out), "value does not decode").at("count").as_int64(), 1);
  CliResult fix = refcache_cli({"--backend", cluster.url(), "check", "--repair"});
  EXPECT_EQ(fix.rc, 0) << fix.out;
  EXPECT_EQ(refcache_cli({"--backend", cluster.url(), "check"}).rc, 0);
  EXPECT_EQ(b.keys().size(), 11u);
}

// --- the mcp-refcache 0.2.1 fixtures --------------------------------------------------------

std::vector<json::value> manifest_entries(const std::string& backend) {
  std::ifstream in(kFixtures + "/manifest.json");
  std::stringstream s;
  s << in.rdbuf();
  std::vector<json::value> out;
  const json::value manifest = json::parse(s.str());
  for (const auto& e : manifest.at("entries").as_array())
    if (e.at("backend").as_string() == backend) out.push_back(e);
  return out;
}

TEST(AdminCli, ReadsThePythonSqliteFixture) {
  TempDir dir;
  fs::copy_file(kFixtures + "/sqlite/cache.db", dir.file("py.db"));
  const std::string url = "sqlite:" + dir.file("py.db");
  auto manifest = manifest_entries("sqlite");
  ASSERT_FALSE(manifest.empty());
  std::size_t alive = 0;
  for (const auto& m : manifest) {
    std::string ref(m.at("ref_id").as_string());
    CliResult show = refcache_cli({"--json", "--backend", url, "show", ref});
    if (m.at("expired").as_bool()) {
      EXPECT_EQ(show.rc, 1) << ref;
      continue;
    }
    ++alive;
    ASSERT_EQ(show.rc, 0) << ref << show.err;
    json::value v = parse_json(show.out);
    EXPECT_EQ(v.at("value"), m.at("value")) << ref;
    EXPECT_EQ(v.at("namespace"), m.at("namespace")) << ref;
    EXPECT_EQ(policy_from_json(v.at("policy")), policy_from_json(m.at("policy"))) << ref;
  }
  CliResult ls = refcache_cli({"--json", "--backend", url, "ls", "--limit", "1000"});
  ASSERT_EQ(ls.rc, 0);
  EXPECT_EQ(parse_json(ls.out).at("entries").as_array().size(), alive);
  // Python's file is sound, and its entries export and import into a fresh file intact.
  EXPECT_EQ(refcache_cli({"--backend", url, "check"}).rc, 0);
  ASSERT_EQ(refcache_cli({"--backend", url, "export", dir.file("py.jsonl")}).rc, 0);
  ASSERT_EQ(
      refcache_cli({"--backend", "sqlite:" + dir.file("copy.db"), "import", dir.file("py.jsonl")})
          .rc,
      0);
  SQLiteBackend a(SQLiteOptions{.path = dir.file("py.db")});
  SQLiteBackend b(SQLiteOptions{.path = dir.file("copy.db")});
  expect_same_entries(a, b);
}

TEST(AdminCli, IndexesThePythonRedisFixture) {
  RedisServer redis;
  RawRedis raw(redis.port(), redis.password());
  std::ifstream in(kFixtures + "/redis/entries.jsonl");
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json::value rec = json::parse(line);
    std::string key(rec.at("redis_key").as_string()), blob(rec.at("blob").as_string());
    long long ttl = rec.at("ttl_seconds").as_int64();
    if (ttl > 1)
      raw.cmd({"SET", key, blob, "EX", std::to_string(ttl)});
    else
      raw.cmd({"SET", key, blob});
  }
  std::size_t alive = 0;
  for (const auto& m : manifest_entries("redis")) alive += m.at("expired").as_bool() ? 0 : 1;
  // Python writes no namespace index: check reports its entries as unindexed, and --repair
  // makes them visible to ls.
  CliResult before = refcache_cli({"--json", "--backend", redis.url(), "ls"});
  ASSERT_EQ(before.rc, 0);
  EXPECT_TRUE(parse_json(before.out).at("entries").as_array().empty());
  CliResult found = refcache_cli({"--json", "--backend", redis.url(), "check"});
  EXPECT_EQ(found.rc, 1);
  EXPECT_GE(finding(parse_json(found.out), "entry missing from its namespace index")
                .at("count")
                .as_int64(),
            static_cast<std::int64_t>(alive));
  ASSERT_EQ(refcache_cli({"--backend", redis.url(), "check", "--repair"}).rc, 0);
  CliResult after = refcache_cli({"--json", "--backend", redis.url(), "ls"});
  EXPECT_EQ(parse_json(after.out).at("entries").as_array().size(), alive);
}

}  // namespace
}  // namespace refcache::testing
