// Compatibility with mcp-refcache 0.2.1: read what the Python package wrote (fixtures copied
// from its own runs) exactly as manifest.json says, and write rows/blobs of the same shape.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC bug 105329
#endif

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "integration/backend_fixture.hpp"
#include "integration/test_util.hpp"
#include "refcache/entry_codec.hpp"
#include "refcache/errors.hpp"

namespace refcache::testing {
namespace {

namespace json = boost::json;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kFixtures = REFCACHE_FIXTURES_DIR;

json::array manifest_entries(const std::string& backend) {
  json::value m = json::parse(read_file(kFixtures + "/manifest.json"));
  json::array out;
  for (auto& e : m.at("entries").as_array())
    if (e.at("backend") == json::value(backend)) out.push_back(e);
  return out;
}

// Checks one decoded entry against its manifest record.
void expect_matches_manifest(const CacheEntry& got, const json::value& want) {
  EXPECT_EQ(got.value, want.at("value"));
  EXPECT_EQ(got.ns, want.at("namespace").as_string());
  EXPECT_EQ(to_json(got.policy), want.at("policy").as_object());
  // And the policy object itself, field by field, in our types.
  const auto& p = want.at("policy");
  EXPECT_EQ(bits(got.policy.user_permissions), p.at("user_permissions").as_int64());
  EXPECT_EQ(bits(got.policy.agent_permissions), p.at("agent_permissions").as_int64());
  EXPECT_EQ(got.policy.owner.has_value(), !p.at("owner").is_null());
  EXPECT_EQ(got.policy.bound_session.has_value(), !p.at("bound_session").is_null());
  EXPECT_EQ(got.policy.allowed_actors.has_value(), !p.at("allowed_actors").is_null());
  EXPECT_EQ(got.policy.denied_actors.has_value(), !p.at("denied_actors").is_null());
}

// The JSON kind of a value, for shape comparisons ("int" and "double" kept apart).
std::string kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "bool";
    case json::kind::int64:
    case json::kind::uint64:
      return "int";
    case json::kind::double_:
      return "double";
    case json::kind::string:
      return "string";
    case json::kind::array:
      return "array";
    case json::kind::object:
      return "object";
  }
  return "?";
}

// Every field of `ours` exists in `theirs` with the same kind, and vice versa (a null in
// one may be any kind in the other, as optional fields are).
void expect_same_shape(const json::object& ours, const json::object& theirs,
                       const std::string& where) {
  std::vector<std::string> a, b;
  for (auto& kv : ours) a.emplace_back(kv.key());
  for (auto& kv : theirs) b.emplace_back(kv.key());
  EXPECT_EQ(a, b) << where << ": fields and their order";
  for (auto& kv : theirs) {
    auto* mine = ours.if_contains(kv.key());
    if (!mine) continue;
    if (mine->is_null() || kv.value().is_null()) continue;
    EXPECT_EQ(kind_of(*mine), kind_of(kv.value())) << where << "." << kv.key();
  }
}

class CompatTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir("compat"); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string python_db_copy() {
    auto p = dir_ / "python.db";
    std::filesystem::copy_file(kFixtures + "/sqlite/cache.db", p);
    return p.string();
  }
  std::filesystem::path dir_;
};

TEST_F(CompatTest, SqliteReadsEveryEntryPythonWrote) {
  SQLiteBackend b(SQLiteOptions{.path = python_db_copy()});
  auto entries = manifest_entries("sqlite");
  ASSERT_EQ(entries.size(), 6u);
  int live = 0;
  for (auto& m : entries) {
    std::string ref(m.at("ref_id").as_string());
    SCOPED_TRACE(ref);
    if (m.at("expired").as_bool()) {
      EXPECT_EQ(b.get(ref), nullptr);
      EXPECT_FALSE(b.exists(ref));
      continue;
    }
    ++live;
    auto e = b.get(ref);
    ASSERT_NE(e, nullptr);
    expect_matches_manifest(*e, m);
    EXPECT_TRUE(e->standard.tool_name);
    EXPECT_TRUE(metadata_count(e->standard.total_size));
    // The metadata object as Python stored it, member for member.
    auto row = RawSqlite(kFixtures + "/sqlite/cache.db")
                   .query("SELECT metadata_json FROM cache_entries WHERE key = '" + ref + "'");
    ASSERT_EQ(row.size(), 1u);
    EXPECT_EQ(metadata_object(*e), json::parse(row[0][0]).as_object());
    EXPECT_GT(e->created_at, 1.7e9);
  }
  EXPECT_EQ(live, 5);
  EXPECT_EQ(b.keys("public").size(), 2u);  // the expired public entry is not listed
  EXPECT_EQ(b.keys().size(), 5u);
  auto priv = b.get("pycache:5a244817e9e2b06e");
  ASSERT_NE(priv, nullptr);
  EXPECT_EQ(priv->policy.owner, std::optional<std::string>("user:alice"));
  EXPECT_EQ(priv->policy.allowed_actors, (std::vector<std::string>{"agent:trusted-*"}));
  EXPECT_EQ(priv->policy.denied_actors, (std::vector<std::string>{"agent:evil"}));
  EXPECT_EQ(priv->policy.bound_session, std::optional<std::string>("sess-9"));
  auto flt = b.get("pycache:04a05000f43e73cf");
  ASSERT_NE(flt, nullptr);
  EXPECT_FALSE(flt->expires_at.has_value());
}

TEST_F(CompatTest, SqliteRowsWeWriteHaveThePythonShape) {
  std::string ours_path = (dir_ / "ours.db").string();
  {
    SQLiteBackend b(SQLiteOptions{.path = ours_path});
    auto e = make_entry(json::parse(R"({"name":"Zoë","tags":["a","b"]})"), "user:alice", 3600);
    e->policy.agent_permissions = Permission::kExecute;
    e->policy.owner = "user:alice";
    e->policy.allowed_actors = std::vector<std::string>{"agent:trusted-*"};
    e->policy.denied_actors = std::vector<std::string>{"agent:evil"};
    e->policy.bound_session = "sess-9";
    e->standard.tool_name = "tool_private";
    e->standard.total_items = 1;
    e->standard.total_size = 22;
    b.set("cpp:5a244817e9e2b06e", e);
  }
  RawSqlite ours(ours_path);
  RawSqlite theirs(python_db_copy());
  const std::string cols =
      "typeof(key), typeof(value_json), typeof(namespace), typeof(policy_json), "
      "typeof(created_at), typeof(expires_at), typeof(metadata_json)";
  EXPECT_EQ(
      ours.query("SELECT " + cols + " FROM cache_entries"),
      theirs.query("SELECT " + cols + " FROM cache_entries WHERE key='pycache:5a244817e9e2b06e'"));
  auto mine = ours.query("SELECT policy_json, metadata_json, value_json FROM cache_entries")[0];
  auto py = theirs.query(
      "SELECT policy_json, metadata_json, value_json FROM cache_entries "
      "WHERE key='pycache:5a244817e9e2b06e'")[0];
  expect_same_shape(json::parse(mine[0]).as_object(), json::parse(py[0]).as_object(), "policy");
  expect_same_shape(json::parse(mine[1]).as_object(), json::parse(py[1]).as_object(), "metadata");
  EXPECT_EQ(json::parse(mine[0]), json::parse(py[0]));  // same policy, same JSON
  // Python's reader (json.loads + AccessPolicy(**policy)) needs exactly these policy fields.
  // Our rows round-trip through our reader of Python rows too.
  SQLiteBackend b(SQLiteOptions{.path = ours_path});
  EXPECT_NE(b.get("cpp:5a244817e9e2b06e"), nullptr);
}

// The blob the Python package stored for `ref_id` in the Redis fixture, parsed.
json::value python_blob(const std::string& ref_id) {
  std::ifstream in(kFixtures + "/redis/entries.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json::value rec = json::parse(line);
    if (rec.at("redis_key").as_string() == "mcp-refcache:entry:" + ref_id)
      return json::parse(rec.at("blob").as_string());
  }
  throw std::runtime_error("no fixture blob for " + ref_id);
}

// Loads the Redis fixture: every key as the Python package left it. The entry written
// already expired is stored without a TTL, so that only its expires_at can hide it.
void load_redis_fixture(RawRedis& r) {
  std::ifstream in(kFixtures + "/redis/entries.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json::value rec = json::parse(line);
    std::string key(rec.at("redis_key").as_string());
    std::string blob(rec.at("blob").as_string());
    long long ttl = rec.at("ttl_seconds").as_int64();
    if (ttl > 1)
      r.cmd({"SET", key, blob, "EX", std::to_string(ttl)});
    else
      r.cmd({"SET", key, blob});
    ++n;
  }
  ASSERT_EQ(n, 6);
}

TEST_F(CompatTest, RedisReadsEveryEntryPythonWrote) {
  RawRedis raw(shared_redis().port(), shared_redis().password());
  raw.cmd({"FLUSHALL"});
  load_redis_fixture(raw);
  RedisBackend b(shared_redis().options());
  auto entries = manifest_entries("redis");
  ASSERT_EQ(entries.size(), 6u);
  for (auto& m : entries) {
    std::string ref(m.at("ref_id").as_string());
    SCOPED_TRACE(ref);
    if (m.at("expired").as_bool()) {
      EXPECT_EQ(b.get(ref), nullptr);
      EXPECT_FALSE(b.exists(ref));
      continue;
    }
    auto e = b.get(ref);
    ASSERT_NE(e, nullptr);
    expect_matches_manifest(*e, m);
    EXPECT_TRUE(e->standard.tool_name);
    // The metadata object as Python stored it, member for member.
    EXPECT_EQ(metadata_object(*e), python_blob(ref).at("metadata").as_object());
  }
  // Python entries carry no namespace index until reindex() adds them.
  EXPECT_EQ(b.reindex(), 6u);
  EXPECT_EQ(b.keys("public"),
            (std::vector<std::string>{"pycache:c5f10f8679f51741", "pycache:c6dd7e3f84cab01e"}));
  EXPECT_EQ(b.keys("user:alice"), std::vector<std::string>{"pycache:c1f80e9ccea64850"});
}

TEST_F(CompatTest, RedisBlobsWeWriteHaveThePythonShape) {
  RawRedis raw(shared_redis().port(), shared_redis().password());
  raw.cmd({"FLUSHALL"});
  RedisBackend b(shared_redis().options());
  auto e = make_entry(json::parse(R"({"ssn":"123-45-6789"})"), "user:alice", 3600);
  e->policy.agent_permissions = Permission::kExecute;
  e->policy.owner = "user:alice";
  e->policy.allowed_actors = std::vector<std::string>{"agent:trusted-*"};
  e->policy.denied_actors = std::vector<std::string>{"agent:evil"};
  e->policy.bound_session = "sess-9";
  e->standard.tool_name = "tool_private";
  e->standard.total_items = 1;
  e->standard.total_size = 22;
  b.set("cpp:c1f80e9ccea64850", e);
  json::value mine = json::parse(raw.cmd({"GET", "mcp-refcache:entry:cpp:c1f80e9ccea64850"}));
  json::value theirs;
  std::ifstream in(kFixtures + "/redis/entries.jsonl");
  std::string line;
  while (std::getline(in, line))
    if (line.find("pycache:c1f80e9ccea64850") != std::string::npos)
      theirs = json::parse(json::parse(line).at("blob").as_string());
  ASSERT_TRUE(theirs.is_object());
  expect_same_shape(mine.as_object(), theirs.as_object(), "blob");
  expect_same_shape(mine.at("policy").as_object(), theirs.at("policy").as_object(), "policy");
  expect_same_shape(mine.at("metadata").as_object(), theirs.at("metadata").as_object(), "metadata");
  EXPECT_EQ(mine.at("policy"), theirs.at("policy"));
  EXPECT_GT(raw.integer({"TTL", "mcp-refcache:entry:cpp:c1f80e9ccea64850"}), 3500);
  // The blob decodes the way the reference decodes it.
  CacheEntry back = decode_entry_blob("cpp:c1f80e9ccea64850", json::serialize(mine));
  EXPECT_EQ(back.policy, e->policy);
}

TEST(EntryCodec, BlobRoundTripAndErrors) {
  CacheEntry e;
  e.value = json::parse(R"([1,{"a":null},"x",2.5,true])");
  e.ns = "session:conv-1";
  e.created_at = 1795627126.9442713;
  e.expires_at = 3372427126.944271;
  e.standard.tool_name = nullptr;
  e.standard.total_size = 28;
  e.metadata["async_completed"] = true;
  std::string blob = encode_entry_blob(e);
  EXPECT_NE(blob.find(R"("metadata":{"tool_name":null,"total_size":28,"async_completed":true})"),
            std::string::npos)
      << blob;
  CacheEntry back = decode_entry_blob("r", blob);
  EXPECT_EQ(back.value, e.value);
  EXPECT_EQ(back.ns, e.ns);
  EXPECT_EQ(back.created_at, e.created_at);  // doubles survive exactly
  EXPECT_EQ(back.expires_at, e.expires_at);
  EXPECT_EQ(back.standard, e.standard);
  EXPECT_EQ(back.metadata, e.metadata);
  // A missing metadata reads as {} (as the reference does); extra fields are ignored.
  CacheEntry m = decode_entry_blob(
      "r", R"({"value":1,"namespace":"public","policy":{},"created_at":1,"expires_at":null,)"
           R"("extra":true})");
  EXPECT_TRUE(m.metadata.empty());
  EXPECT_EQ(m.policy, AccessPolicy{});
  for (const char* bad :
       {"", "nope", "[]", R"({"namespace":"p","policy":{},"created_at":1})",
        R"({"value":1,"namespace":7,"policy":{},"created_at":1})",
        R"({"value":1,"namespace":"p","policy":[],"created_at":1})",
        R"({"value":1,"namespace":"p","policy":{"owner":5},"created_at":1})",
        R"({"value":1,"namespace":"p","policy":{},"created_at":"x"})",
        R"({"value":1,"namespace":"p","policy":{},"created_at":1,"expires_at":"x"})",
        R"({"value":1,"namespace":"p","policy":{},"created_at":1,"metadata":[]})"}) {
    EXPECT_THROW(decode_entry_blob("bad", bad), CorruptEntry) << bad;
  }
}

}  // namespace
}  // namespace refcache::testing
