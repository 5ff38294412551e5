// The gateway's parts without processes: the configuration file's reading and its errors,
// the naming of aggregated tools (and names kept when the lists change), the backoff of restarts,
// the published schemas, ref arguments and the interception of results, on a memory cache; and
// the rule that decides whether an upstream's message may reach the callers in flight.
#include <gtest/gtest.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <boost/json.hpp>
#include <cstdlib>
#include <cstring>

#include "aggregation.hpp"
#include "backoff.hpp"
#include "caller_principal.hpp"
#include "gateway_config.hpp"
#include "mcp/schema.hpp"
#include "media_refs.hpp"
#include "oauth_browser_step.hpp"
#include "private_result.hpp"
#include "ref_arguments.hpp"
#include "refcache/errors.hpp"
#include "refcache/memory_backend.hpp"
#include "response_cache.hpp"
#include "result_interception.hpp"
#include "result_memory.hpp"

namespace json = boost::json;
using gateway::ConfigError;
using gateway::parse_config;

namespace {

std::string config_error(const std::string& text) {
  try {
    parse_config(text, "cfg.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST(GatewayConfig, ReadsAClientFileUnchanged) {
  ::setenv("GATEWAY_TEST_DIR", "/data", 1);
  auto c = parse_config(R"({
    "globalShortcut": "Ctrl+Space",
    "mcpServers": {
      "fs": {"command": "npx", "args": ["-y", "server-filesystem", "${GATEWAY_TEST_DIR}"],
             "env": {"LEVEL": "${GATEWAY_TEST_UNSET_VAR:-info}"}, "cwd": "/tmp", "alwaysAllow": []},
      "remote": {"type": "http", "url": "https://example.com/mcp",
                 "headers": {"Authorization": "Bearer t"}},
      "plain": {"url": "http://127.0.0.1:1/mcp"},
      "old": {"type": "sse", "url": "http://127.0.0.1:1/sse"},
      "off": {"command": "x", "disabled": true}
    }})",
                        "cfg.json");
  ASSERT_EQ(c.upstreams.size(), 4u);
  const auto& fs = c.upstreams[0];
  EXPECT_EQ(fs.name, "fs");
  EXPECT_EQ(fs.kind, gateway::UpstreamKind::kStdio);
  EXPECT_EQ(fs.args, (std::vector<std::string>{"-y", "server-filesystem", "/data"}));
  EXPECT_EQ(fs.env.at("LEVEL"), "info");
  EXPECT_EQ(fs.cwd, "/tmp");
  EXPECT_EQ(c.upstreams[1].kind, gateway::UpstreamKind::kStreamableHttp);
  EXPECT_EQ(c.upstreams[1].headers.at("Authorization"), "Bearer t");
  EXPECT_EQ(c.upstreams[2].kind, gateway::UpstreamKind::kStreamableHttp);
  EXPECT_EQ(c.upstreams[3].kind, gateway::UpstreamKind::kLegacySse);
  EXPECT_EQ(c.threshold, 10000u);
}

TEST(GatewayConfig, VsCodeServersKey) {
  auto c = parse_config(R"({"servers": {"a": {"command": "x"}}})", "cfg.json");
  ASSERT_EQ(c.upstreams.size(), 1u);
  EXPECT_EQ(c.upstreams[0].command, "x");
}

// Cursor's and VS Code's files spell variables ${env:VAR}.
TEST(GatewayConfig, EnvPrefixedVariables) {
  ::setenv("GATEWAY_TEST_TOKEN", "t0k", 1);
  auto c = parse_config(R"({"servers": {"a": {"type": "http", "url": "http://127.0.0.1:1/mcp",
      "headers": {"Authorization": "Bearer ${env:GATEWAY_TEST_TOKEN}",
                  "X-Level": "${env:GATEWAY_TEST_UNSET_VAR:-low}"}}}})",
                        "cfg.json");
  ASSERT_EQ(c.upstreams.size(), 1u);
  EXPECT_EQ(c.upstreams[0].headers.at("Authorization"), "Bearer t0k");
  EXPECT_EQ(c.upstreams[0].headers.at("X-Level"), "low");
  EXPECT_NE(config_error(R"({"mcpServers": {"a": {"command": "${env:GATEWAY_TEST_UNSET_VAR}"}}})")
                .find("GATEWAY_TEST_UNSET_VAR is not set"),
            std::string::npos);
}

TEST(GatewayConfig, ErrorsNameFilePointerAndFault) {
  EXPECT_EQ(config_error(R"({"mcpServers": {"a": {"command": "x", "args": [1]}}})"),
            "cfg.json: /mcpServers/a/args/0: must be a string");
  EXPECT_EQ(config_error(R"({"mcpServers": {"a/b": {"command": 3}}})"),
            "cfg.json: /mcpServers/a~1b/command: must be a string");
  EXPECT_EQ(config_error("{\n  \"mcpServers\": [\n}"),
            "cfg.json: line 3, column 1: not valid JSON (syntax error)");
  EXPECT_EQ(config_error(R"([])"), "cfg.json: /: must be an object");
  EXPECT_EQ(config_error(R"({"mcpServers": {"a": {"command": "x", "url": "http://h/"}}})"),
            "cfg.json: /mcpServers/a: has both \"command\" and \"url\": give one, or a \"type\"");
  EXPECT_EQ(
      config_error(R"({"refcache": {"threshold": -1}, "mcpServers": {"a": {"command": "x"}}})"),
      "cfg.json: /refcache/threshold: must be an integer from 1 to 100000000");
  EXPECT_EQ(
      config_error(R"({"mcpServers": {"a": {"command": "x", "refcache": {"prefix": "a b"}}}})"),
      "cfg.json: /mcpServers/a/refcache/prefix: may hold only letters, digits, '_', '-' and '.'");
  EXPECT_NE(
      config_error(
          R"({"mcpServers": {"a": {"command": "x", "refcache": {"tools": {"t": {"hiden": true}}}}}})")
          .find("/mcpServers/a/refcache/tools/t/hiden: unknown setting"),
      std::string::npos);
}

TEST(GatewayConfig, ToolSettingsBeatServerSettingsBeatTheFiles) {
  auto c = parse_config(R"({"refcache": {"threshold": 500, "preview_size": 50},
    "mcpServers": {"a": {"command": "x", "refcache": {"threshold": 400, "hide_tools": ["h"],
      "accept_refs": false, "tools": {"t": {"threshold": 300, "accept_refs": true},
                                      "h": {"hidden": false}}}},
                   "b": {"command": "y"}}})",
                        "cfg.json");
  auto t = c.settings_for(c.upstreams[0], "t", 1000);
  EXPECT_EQ(t.threshold, 300u);
  EXPECT_EQ(t.preview_size, 50u);
  EXPECT_TRUE(t.accept_refs);
  EXPECT_FALSE(t.hidden);
  auto other = c.settings_for(c.upstreams[0], "other", 1000);
  EXPECT_EQ(other.threshold, 400u);
  EXPECT_FALSE(other.accept_refs);
  EXPECT_FALSE(c.settings_for(c.upstreams[0], "h", 1000).hidden);  // the tool's word wins
  auto b = c.settings_for(c.upstreams[1], "t", 1000);
  EXPECT_EQ(b.threshold, 500u);
  EXPECT_TRUE(b.accept_refs);
}

TEST(GatewayAggregation, PrefixesOnlyWhereNamesCollide) {
  std::vector<gateway::UpstreamNames> in{
      {.server = "fs", .names = {"read", "write", "get_cached_result"}},
      {.server = "my server", .names = {"read", "echo"}},
      {.server = "calc", .prefix = "c", .names = {"read", "calculate"}}};
  auto out = gateway::aggregate(in, {"get_cached_result", "gateway_status"}, "tool");
  std::vector<std::string> names;
  for (const auto& r : out.items) names.push_back(r.exposed_name);
  EXPECT_EQ(names, (std::vector<std::string>{"fs_read", "write", "fs_get_cached_result",
                                             "my_server_read", "echo", "c_read", "c_calculate"}));
  EXPECT_EQ(out.items[3].upstream, 1u);
  EXPECT_EQ(out.items[3].item, 0u);
  EXPECT_EQ(out.reports.size(), 3u);  // read twice, get_cached_result once
}

TEST(GatewayAggregation, KeptNamesStayWhenAServerComesUpLater) {
  // "late" was down at first: fs offered "read" unprefixed. When late comes up with its own
  // "read", fs keeps "read" and the newcomer is the one renamed.
  std::vector<gateway::UpstreamNames> in{{.server = "fs", .names = {"read", "write"}},
                                         {.server = "late", .names = {"read", "ping"}}};
  gateway::KeptNames kept{{{"fs", "read"}, "read"}, {{"fs", "write"}, "write"}};
  auto out = gateway::aggregate(in, {"gateway_status"}, "tool", kept);
  std::vector<std::string> names;
  for (const auto& r : out.items) names.push_back(r.exposed_name);
  EXPECT_EQ(names, (std::vector<std::string>{"read", "write", "late_read", "ping"}));
  // Without kept names both colliding tools are prefixed.
  auto fresh = gateway::aggregate(in, {"gateway_status"}, "tool");
  EXPECT_EQ(fresh.items[0].exposed_name, "fs_read");
  // A kept name that is a reserved one is not kept.
  gateway::KeptNames bad{{{"fs", "read"}, "gateway_status"}};
  auto again = gateway::aggregate(in, {"gateway_status"}, "tool", bad);
  EXPECT_EQ(again.items[0].exposed_name, "fs_read");
}

TEST(GatewayBackoff, DoublesFromHalfASecondToThirtySeconds) {
  gateway::Backoff b;
  std::vector<long> delays;
  for (int i = 0; i < 10; ++i) delays.push_back(static_cast<long>(b.next().count()));
  EXPECT_EQ(delays,
            (std::vector<long>{500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000}));
  EXPECT_EQ(b.attempts(), 10u);
  b.reset();
  EXPECT_EQ(b.next().count(), 500);
  EXPECT_EQ(b.attempts(), 11u);
}

TEST(GatewayBackoff, HonoursItsPolicy) {
  gateway::Backoff b({.initial = std::chrono::milliseconds(100),
                      .max = std::chrono::milliseconds(250),
                      .factor = 3.0});
  EXPECT_EQ(b.next().count(), 100);
  EXPECT_EQ(b.next().count(), 250);
  EXPECT_EQ(b.next().count(), 250);
  // A factor below 1 never shrinks the delay; an initial beyond max is capped.
  gateway::Backoff flat({.initial = std::chrono::milliseconds(900),
                         .max = std::chrono::milliseconds(400),
                         .factor = 0.5});
  EXPECT_EQ(flat.next().count(), 400);
  EXPECT_EQ(flat.next().count(), 400);
}

TEST(GatewayAggregation, ANameStillTakenIsDroppedWithAReport) {
  std::vector<gateway::UpstreamNames> in{{.server = "a", .names = {"b_x"}},
                                         {.server = "b", .names = {"x"}},
                                         {.server = "c", .names = {"x"}}};
  auto out = gateway::aggregate(in, {}, "tool");
  ASSERT_EQ(out.items.size(), 2u);  // a's b_x, c's c_x; b's x would be b_x
  EXPECT_EQ(out.items[0].exposed_name, "b_x");
  EXPECT_EQ(out.items[1].exposed_name, "c_x");
  bool dropped = false;
  for (const auto& r : out.reports)
    dropped = dropped || r == "tool 'x' of 'b' would be named 'b_x', which is taken: not offered";
  EXPECT_TRUE(dropped);
}

TEST(GatewayRefArguments, PublishedSchemaTakesValuesAndRefs) {
  json::value upstream = json::parse(
      R"({"type":"object","properties":{"path":{"type":"string","description":"where"},
          "n":{"type":"integer"}},"required":["path"],"additionalProperties":false})");
  json::value published = gateway::published_schema(upstream);
  EXPECT_EQ(mcp::validate(published, json::parse(R"({"path":"/a","n":3})")), "");
  EXPECT_EQ(mcp::validate(
                published,
                json::parse(R"({"path":"gateway:0123456789abcdef#/rows/0","n":"calc:0123abcd"})")),
            "");
  EXPECT_NE(mcp::validate(published, json::parse(R"({"path":"/a","n":"three"})")), "");
  EXPECT_EQ(published.at("properties").at("path").at("description"), "where");
}

class GatewayCacheTest : public ::testing::Test {
 protected:
  GatewayCacheTest() {
    refcache::RefCacheOptions o;
    o.name = "gateway";
    o.backend = std::make_shared<refcache::MemoryBackend>();
    cache_ = std::make_unique<refcache::RefCache>(std::move(o));
  }
  std::unique_ptr<refcache::RefCache> cache_;
  refcache::Actor actor_ = refcache::Actor::agent();
  json::value schema_ = json::parse(
      R"({"type":"object","properties":{"content":{"type":"string"},"n":{"type":"integer"}}})");
};

TEST_F(GatewayCacheTest, RefsAndPointersResolveOthersCachesRefsPassAsWritten) {
  auto ref = cache_->set("", json::parse(R"({"rows":[{"id":7},{"id":8}]})"));
  json::value args = json::object{{"n", ref.ref_id + "#/rows/1/id"},
                                  {"list", json::array{ref.ref_id, "calculator:0123456789abcdef"}}};
  ASSERT_TRUE(gateway::has_ref_arguments(args));
  gateway::ResolvedArguments resolved =
      gateway::resolve_arguments(*cache_, args, actor_, {}, schema_);
  EXPECT_TRUE(resolved.private_inputs.empty());
  const json::value& out = resolved.args;
  EXPECT_EQ(out.at("n"), 8);
  EXPECT_EQ(out.at("list").at(0).at("rows").at(0).at("id"), 7);
  EXPECT_EQ(out.at("list").at(1), "calculator:0123456789abcdef");
  EXPECT_THROW(gateway::resolve_arguments(*cache_, json::object{{"n", "gateway:00000000deadbeef"}},
                                          actor_, {}, schema_),
               refcache::InvalidReference);
  EXPECT_THROW(gateway::resolve_arguments(*cache_, json::object{{"n", ref.ref_id + "#/nope"}},
                                          actor_, {}, schema_),
               refcache::InvalidReference);
}

TEST_F(GatewayCacheTest, SmallResultsPassThroughUnchanged) {
  mcp::CallToolResult r;
  r.content.push_back(mcp::text_content("hello"));
  r.meta["k"] = "v";
  const json::value before = r.to_json();
  mcp::CallToolResult out = gateway::intercept(*cache_, {}, r, {.threshold = 100});
  EXPECT_EQ(out.to_json(), before);
}

TEST_F(GatewayCacheTest, LargeJsonTextBecomesARefKeepingItsText) {
  json::array rows;
  for (int i = 0; i < 500; ++i) rows.push_back(json::object{{"id", i}});
  const std::string text = "\n  " + json::serialize(rows) + "\n";
  mcp::CallToolResult r;
  r.content.push_back(mcp::text_content(text));
  r.content.push_back(mcp::image_content("aGk=", "image/png"));
  mcp::CallToolResult out = gateway::intercept(
      *cache_, {}, r, {.threshold = 100, .preview_size = 50, .upstream = "fs", .tool = "read"});
  ASSERT_TRUE(out.structured_content);
  const auto& sc = out.structured_content->as_object();
  EXPECT_EQ(sc.at("source"), "json_text");
  EXPECT_EQ(sc.at("total_items"), 500);
  EXPECT_EQ(sc.at("is_complete"), false);
  EXPECT_EQ(sc.at("preview_strategy"), "shape");      // a list of objects: its shape first
  EXPECT_EQ(out.content.back().at("type"), "image");  // passed on after the ref
  const std::string ref(sc.at("ref_id").as_string());
  EXPECT_EQ(*cache_->resolve(ref, actor_), json::value(rows));
  // A string parameter given the ref receives the text as it was written.
  json::value forwarded =
      gateway::resolve_arguments(*cache_, json::object{{"content", ref}}, actor_, {}, schema_).args;
  EXPECT_EQ(forwarded.at("content"), json::value(text));
  EXPECT_NE(cache_->entry_for(ref, actor_, refcache::Permission::kRead)
                ->metadata.if_contains(gateway::kOriginalTextRef),
            nullptr);

  // A compact text is what the value serializes to: stored once, and still passed on as it
  // was written.
  const std::string compact = json::serialize(rows);
  mcp::CallToolResult c = gateway::intercept(*cache_, {}, mcp::CallToolResult::text(compact),
                                             {.threshold = 100, .preview_size = 50});
  const std::string cref(c.structured_content->at("ref_id").as_string());
  EXPECT_EQ(cache_->entry_for(cref, actor_, refcache::Permission::kRead)
                ->metadata.if_contains(gateway::kOriginalTextRef),
            nullptr);
  forwarded =
      gateway::resolve_arguments(*cache_, json::object{{"content", cref}}, actor_, {}, schema_)
          .args;
  EXPECT_EQ(forwarded.at("content"), json::value(compact));
}

TEST_F(GatewayCacheTest, ExecuteOnlyArgumentsMakeAPrivateComputationWhoseResultIsWithheld) {
  // Alice's private list, stored in her scope; an agent acting for her may use it, not read it.
  refcache::SetOptions so;
  so.ns = "user:alice";
  so.policy = refcache::AccessPolicy::execute_only();
  auto secret = cache_->set("", json::parse(R"([{"salary": 912345}, {"salary": 876543}])"), so);
  const refcache::Actor alice = refcache::Actor::user("alice");
  EXPECT_THROW(cache_->resolve(secret.ref_id, alice, so.ns), refcache::PermissionDenied);

  gateway::ResolvedArguments in = gateway::resolve_arguments(
      *cache_, json::object{{"content", secret.ref_id}, {"n", 3}}, alice, {}, schema_);
  ASSERT_EQ(in.private_inputs.size(), 1u);
  EXPECT_EQ(in.private_inputs[0].parameter, "content");
  // The upstream receives the value (as JSON text, since its schema wants a string).
  EXPECT_NE(json::value_to<std::string>(in.args.at("content")).find("912345"), std::string::npos);

  refcache::CallIdentity who;
  who.values = {{"user_id", "alice"}};
  const gateway::InterceptOptions opts{.threshold = 100000, .upstream = "fs", .tool = "echo"};
  for (bool failed : {false, true}) {
    // A small result that echoes the secret, or a failure quoting it: neither is shown.
    mcp::CallToolResult r = failed ? mcp::CallToolResult::error("bad salary 912345")
                                   : mcp::CallToolResult::text("echo: 912345, 876543");
    mcp::CallToolResult out = gateway::withhold(*cache_, who, r, in, opts);
    const std::string text = json::serialize(out.to_json());
    EXPECT_EQ(text.find("912345"), std::string::npos) << text;
    EXPECT_EQ(text.find("876543"), std::string::npos) << text;
    EXPECT_FALSE(out.is_error);  // whether it failed is not told either
    ASSERT_TRUE(out.structured_content);
    const auto& sc = out.structured_content->as_object();
    EXPECT_EQ(sc.at("value_withheld"), true);
    EXPECT_TRUE(sc.at("total_items").is_null());
    const std::string ref(sc.at("ref_id").as_string());
    // Nobody reads it, alice included; it stays in her scope, marked derived, and usable.
    refcache::EntryPtr e = cache_->entry_for(ref, alice, refcache::Permission::kExecute, so.ns);
    EXPECT_EQ(e->ns, "user:alice");
    EXPECT_EQ(e->metadata.at(refcache::kDerivedFromPrivate), true);
    EXPECT_THROW(cache_->resolve(ref, alice, so.ns), refcache::PermissionDenied);
    EXPECT_THROW(cache_->resolve(ref, refcache::Actor::user("bob"), so.ns),
                 refcache::PermissionDenied);
  }
}

TEST_F(GatewayCacheTest, StructuredContentIsStoredUnlessItOnlyWrapsTheText) {
  json::array big;
  for (int i = 0; i < 300; ++i) big.push_back(i);
  mcp::CallToolResult structured = mcp::CallToolResult::structured(json::object{{"values", big}});
  auto a = gateway::intercept(*cache_, {}, structured, {.threshold = 100, .preview_size = 50});
  EXPECT_EQ(a.structured_content->at("source"), "structuredContent");

  const std::string text(2000, 'x');
  mcp::CallToolResult wrapped;
  wrapped.content.push_back(mcp::text_content(text));
  wrapped.structured_content = json::object{{"content", text}};
  auto b = gateway::intercept(*cache_, {}, wrapped, {.threshold = 100, .preview_size = 50});
  EXPECT_EQ(b.structured_content->at("source"), "text");
  EXPECT_EQ(*cache_->resolve(std::string(b.structured_content->at("ref_id").as_string()), actor_),
            json::value(text));
}

namespace {

refcache::CallIdentity caller(std::map<std::string, std::string> values) {
  refcache::CallIdentity who;
  who.values = std::move(values);
  return who;
}

}  // namespace

TEST(CallerPrincipal, UsersAndSessionsAreDistinctPrincipals) {
  const std::string alice =
      gateway::caller_principal(caller({{"user_id", "alice"}, {"peer_address", "127.0.0.1"}}));
  const std::string bob =
      gateway::caller_principal(caller({{"user_id", "bob"}, {"peer_address", "127.0.0.1"}}));
  EXPECT_FALSE(alice.empty());
  EXPECT_NE(alice, bob);
  EXPECT_EQ(alice, gateway::caller_principal(
                       caller({{"user_id", "alice"}, {"peer_address", "127.0.0.2"}})));
  const std::string s1 =
      gateway::caller_principal(caller({{"user_id", "alice"}, {"session_id", "s1"}}));
  const std::string s2 =
      gateway::caller_principal(caller({{"user_id", "alice"}, {"session_id", "s2"}}));
  EXPECT_NE(s1, s2);
  EXPECT_NE(s1, alice);
}

TEST(CallerPrincipal, AnonymousCallersAreOneOverStdioAndUnknownOverHttp) {
  const std::string stdio = gateway::caller_principal(caller({}));
  EXPECT_FALSE(stdio.empty());
  EXPECT_EQ(stdio, gateway::caller_principal(caller({})));
  EXPECT_TRUE(gateway::caller_principal(caller({{"peer_address", "127.0.0.1"}})).empty());
  // An anonymous caller with a session is that session.
  EXPECT_FALSE(
      gateway::caller_principal(caller({{"peer_address", "127.0.0.1"}, {"session_id", "s1"}}))
          .empty());
}

TEST(CallerPrincipal, OnlyCallsOfOnePrincipalReceiveTheUpstreamsMessages) {
  using gateway::single_principal;
  EXPECT_FALSE(single_principal({}));
  EXPECT_TRUE(single_principal({"user:alice"}));
  EXPECT_TRUE(single_principal({"user:alice", "user:alice"}));
  EXPECT_FALSE(single_principal({"user:alice", "user:bob"}));
  EXPECT_FALSE(single_principal({"user:alice", "user:alice", "user:bob"}));
  EXPECT_FALSE(single_principal({""}));
  EXPECT_FALSE(single_principal({"", ""}));
}

TEST(GatewayConfig, ResponseCacheTtlsFromTheToolTheServerOrTheFile) {
  auto c = parse_config(R"({"refcache": {"cache_read_only_ttl": 30},
    "mcpServers": {"a": {"command": "x", "refcache": {"cache_read_only_ttl": 60,
      "tools": {"write": {"cache_ttl": 5}, "read": {"cache_ttl": 0}}}},
                   "b": {"command": "y"}, "c": {"command": "z"}}})",
                        "cfg.json");
  mcp::ToolAnnotations read_only;
  read_only.read_only_hint = true;
  const mcp::ToolAnnotations plain;
  using std::chrono::seconds;
  const auto a_other = c.settings_for(c.upstreams[0], "other", 1000);
  EXPECT_EQ(gateway::response_ttl(a_other, read_only), seconds(60));  // the server's
  EXPECT_EQ(gateway::response_ttl(a_other, plain), seconds(0));       // not read-only: never
  // A tool's own TTL wins over its annotations, both ways.
  EXPECT_EQ(gateway::response_ttl(c.settings_for(c.upstreams[0], "write", 1000), plain),
            seconds(5));
  EXPECT_EQ(gateway::response_ttl(c.settings_for(c.upstreams[0], "read", 1000), read_only),
            seconds(0));
  EXPECT_EQ(gateway::response_ttl(c.settings_for(c.upstreams[1], "t", 1000), read_only),
            seconds(30));  // the file's
  auto none = parse_config(R"({"mcpServers": {"a": {"command": "x"}}})", "cfg.json");
  EXPECT_EQ(gateway::response_ttl(none.settings_for(none.upstreams[0], "t", 1000), read_only),
            seconds(0));  // off unless configured
  EXPECT_NE(
      config_error(R"({"mcpServers": {"a": {"command": "x",
      "refcache": {"tools": {"t": {"cache_ttl": -1}}}}}})")
          .find("/mcpServers/a/refcache/tools/t/cache_ttl: must be a whole number of seconds"),
      std::string::npos);
  EXPECT_NE(config_error(R"({"refcache": {"cache_read_only_ttl": "1m"},
      "mcpServers": {"a": {"command": "x"}}})")
                .find("/refcache/cache_read_only_ttl: must be a whole number"),
            std::string::npos);
}

namespace {
double fake_now = 1000000.0;
double fake_clock() {
  return fake_now;
}
}  // namespace

TEST(GatewayResponseCache, KeptPerCallerToolAndArgumentsUntilItsTtl) {
  refcache::RefCacheOptions o;
  o.name = "gateway";
  refcache::MemoryBackendOptions mo;
  mo.clock = &fake_clock;
  o.backend = std::make_shared<refcache::MemoryBackend>(mo);
  o.clock = &fake_clock;
  refcache::RefCache cache(std::move(o));
  const auto alice = caller({{"user_id", "alice"}, {"peer_address", "127.0.0.1"}});
  const auto bob = caller({{"user_id", "bob"}, {"peer_address", "127.0.0.1"}});
  const json::value args = json::parse(R"({"path": "/a", "depth": 2})");
  const json::value same_args = json::parse(R"({"depth": 2, "path": "/a"})");
  mcp::CallToolResult r;
  r.content.push_back(mcp::text_content("listing of /a"));
  r.structured_content = json::parse(R"({"entries": ["x"]})");

  const std::string key = gateway::response_key(cache, "fs", "list", args, alice);
  ASSERT_FALSE(key.empty());
  EXPECT_EQ(key, gateway::response_key(cache, "fs", "list", same_args, alice));
  EXPECT_FALSE(gateway::cached_response(cache, key));
  gateway::keep_response(cache, key, r, std::chrono::seconds(10), alice);
  auto hit = gateway::cached_response(cache, key);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->to_json(), r.to_json());

  // Another caller, other arguments, another tool or upstream: other keys, nothing kept.
  for (const std::string& other :
       {gateway::response_key(cache, "fs", "list", args, bob),
        gateway::response_key(cache, "fs", "list", json::parse(R"({"path": "/b"})"), alice),
        gateway::response_key(cache, "fs", "stat", args, alice),
        gateway::response_key(cache, "fs2", "list", args, alice)}) {
    EXPECT_NE(other, key);
    EXPECT_FALSE(gateway::cached_response(cache, other));
  }
  // Anonymous HTTP callers cannot be told apart: never cached.
  EXPECT_TRUE(
      gateway::response_key(cache, "fs", "list", args, caller({{"peer_address", "127.0.0.1"}}))
          .empty());

  // Kept results are nobody's but the system's: not listed, not readable by ref or key.
  for (const auto& actor : {refcache::Actor::agent(), refcache::Actor::user("alice")}) {
    EXPECT_TRUE(cache.list(gateway::kResponseNamespace, actor).ref_ids.empty());
    EXPECT_ANY_THROW(cache.get(key, actor, {.ns = gateway::kResponseNamespace}));
  }

  // Errors are not kept.
  const std::string key2 = gateway::response_key(cache, "fs", "list", json::object{}, alice);
  gateway::keep_response(cache, key2, mcp::CallToolResult::error("no such dir"),
                         std::chrono::seconds(10), alice);
  EXPECT_FALSE(gateway::cached_response(cache, key2));

  // The TTL ends it.
  fake_now += 9;
  EXPECT_TRUE(gateway::cached_response(cache, key));
  fake_now += 2;
  EXPECT_FALSE(gateway::cached_response(cache, key));
}

TEST_F(GatewayCacheTest, MediaByReferenceStoresImagesAudioAndEmbeddedResources) {
  mcp::CallToolResult r;
  r.content.push_back(mcp::text_content("before"));
  r.content.push_back(mcp::image_content("aGVsbG8=", "image/png"));  // "hello"
  r.content.push_back(mcp::audio_content("AAEC", "audio/wav"));
  r.content.push_back(mcp::embedded_text_resource("file:///a.txt", "text/plain", "alpha"));
  r.content.push_back(json::object{{"type", "image"}, {"mimeType", "image/png"}});  // no data
  refcache::CallIdentity who;
  who.values = {{"user_id", "alice"}};
  mcp::CallToolResult out =
      gateway::media_by_reference(*cache_, who, r, {.upstream = "up", .tool = "pics"});
  ASSERT_EQ(out.content.size(), 5u);
  EXPECT_EQ(out.content[0], r.content[0]);  // text stays
  EXPECT_EQ(out.content[4], r.content[4]);  // not well formed: passed as it is
  const char* sources[] = {"image", "audio", "resource"};
  const char* types[] = {"image/png", "audio/wav", "text/plain"};
  const char* values[] = {"aGVsbG8=", "AAEC", "alpha"};
  for (int i = 0; i < 3; ++i) {
    const auto& link = out.content[static_cast<std::size_t>(i) + 1].as_object();
    EXPECT_EQ(link.at("type"), "resource_link");
    EXPECT_EQ(link.at("mimeType"), types[i]);
    const std::string uri(link.at("uri").as_string());
    ASSERT_EQ(uri.rfind("refcache://gateway:", 0), 0u) << uri;
    refcache::EntryPtr e =
        cache_->entry_for(uri.substr(11), actor_, refcache::Permission::kRead, "public");
    EXPECT_EQ(e->value, values[i]);
    EXPECT_EQ(e->metadata.at("source"), sources[i]);
    EXPECT_EQ(e->metadata.at("mime_type"), types[i]);
    EXPECT_EQ(e->metadata.contains("encoding"), i < 2);  // base64 for binary content only
  }
  EXPECT_NE(json::value_to<std::string>(out.content[1].at("description")).find("5 bytes"),
            std::string::npos);
  EXPECT_NE(json::value_to<std::string>(out.content[3].at("description")).find("file:///a.txt"),
            std::string::npos);
  auto c = parse_config(R"({"refcache": {"media": "ref"}, "mcpServers": {"a": {"command": "x",
      "refcache": {"media": "pass", "tools": {"t": {"media": "ref"}}}}, "b": {"command": "y"}}})",
                        "cfg.json");
  EXPECT_FALSE(c.settings_for(c.upstreams[0], "other", 1000).media_by_ref);
  EXPECT_TRUE(c.settings_for(c.upstreams[0], "t", 1000).media_by_ref);
  EXPECT_TRUE(c.settings_for(c.upstreams[1], "t", 1000).media_by_ref);
  EXPECT_NE(
      config_error(R"({"refcache": {"media": "inline"}, "mcpServers": {"a": {"command": "x"}}})")
          .find("/refcache/media: must be \"ref\" or \"pass\""),
      std::string::npos);
}

TEST(GatewayConfig, MaxResultSizeIsTheFilesWithinItsRange) {
  EXPECT_EQ(parse_config(R"({"mcpServers": {"a": {"command": "x"}}})", "cfg.json").max_result_mb,
            256u);
  EXPECT_EQ(parse_config(
                R"({"refcache": {"max_result_mb": 1024}, "mcpServers": {"a": {"command": "x"}}})",
                "cfg.json")
                .max_result_mb,
            1024u);
  EXPECT_NE(config_error(
                R"({"refcache": {"max_result_mb": 5000}, "mcpServers": {"a": {"command": "x"}}})")
                .find("/refcache/max_result_mb: must be at most 4096 (MiB)"),
            std::string::npos);
  EXPECT_NE(
      config_error(R"({"refcache": {"max_result_mb": 0}, "mcpServers": {"a": {"command": "x"}}})")
          .find("/refcache/max_result_mb: must be an integer from 1"),
      std::string::npos);
}

TEST(GatewayConfig, OAuthSettingsOfHttpUpstreams) {
  setenv("GW_TEST_SECRET", "s3cret", 1);
  auto c = parse_config(R"({"mcpServers": {
      "a": {"url": "https://a.example/mcp", "refcache": {"oauth": {"client_id": "gw",
            "client_secret": "${GW_TEST_SECRET}", "client_credentials": true,
            "redirect_uri": "http://127.0.0.1:8976/callback", "authorization_timeout": 60}}},
      "b": {"url": "https://b.example/mcp", "refcache": {"oauth": false}},
      "c": {"url": "https://c.example/mcp"}}})",
                        "cfg.json");
  const gateway::OAuthSettings& a = c.upstreams[0].oauth;
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.client_id, "gw");
  EXPECT_EQ(a.client_secret, "s3cret");
  EXPECT_TRUE(a.client_credentials);
  EXPECT_EQ(a.authorization_timeout, std::chrono::seconds(60));
  EXPECT_FALSE(c.upstreams[1].oauth.enabled);
  EXPECT_TRUE(c.upstreams[2].oauth.enabled);  // on by default: used when the server asks
  EXPECT_TRUE(c.upstreams[2].oauth.redirect_uri.empty());

  EXPECT_NE(config_error(R"({"mcpServers": {"s": {"command": "x", "refcache": {"oauth": {}}}}})")
                .find("/mcpServers/s/refcache/oauth: applies to HTTP servers only"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"mcpServers": {"a": {"url": "https://a.example/mcp",
      "refcache": {"oauth": {"client_credentials": true}}}}})")
                .find("oauth/client_credentials: needs a client_id"),
            std::string::npos);
  EXPECT_NE(config_error(R"({"mcpServers": {"a": {"url": "https://a.example/mcp",
      "refcache": {"oauth": {"client_secert": "x"}}}}})")
                .find("oauth/client_secert: unknown setting"),
            std::string::npos);
  for (const char* bad : {"https://127.0.0.1:8976/cb", "http://example.com:8976/cb",
                          "http://127.0.0.1/cb", "not a uri"})
    EXPECT_NE(gateway::redirect_uri_problem(bad), "") << bad;
  for (const char* good :
       {"http://127.0.0.1:8976/callback", "http://localhost:1234/cb", "http://[::1]:9/x"})
    EXPECT_EQ(gateway::redirect_uri_problem(good), "") << good;
  EXPECT_EQ(gateway::redirect_uri_problem(gateway::free_loopback_redirect_uri()), "");
}

// glibc's own allocator: a sanitizer's replaces it (GCC names the sanitizer with a macro,
// clang through __has_feature).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GATEWAY_TEST_SANITIZED_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define GATEWAY_TEST_SANITIZED_ALLOCATOR 1
#endif
#endif
#if defined(__GLIBC__) && !defined(GATEWAY_TEST_SANITIZED_ALLOCATOR)
TEST(ResultMemory, BlocksOfAResultAreKeptForTheNextOneUnlessHuge) {
  gateway::keep_freed_memory();
  // A block of a 1 MB result comes from a heap (not mmapped: glibc's first threshold is
  // 128 KiB), and freeing it leaves the room with the process for the next result.
  const std::size_t mapped_before = mallinfo2().hblkhd;
  void* block = std::malloc(std::size_t{1} << 20);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, std::size_t{1} << 20);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before);
  const std::size_t free_before = mallinfo2().fordblks;
  std::free(block);
  EXPECT_GE(mallinfo2().fordblks, free_before + (std::size_t{1} << 20));
  // One of kReturnMemoryAbove is mapped for itself, and goes back when freed.
  block = std::malloc(gateway::kReturnMemoryAbove);
  ASSERT_NE(block, nullptr);
  EXPECT_GE(mallinfo2().hblkhd, mapped_before + gateway::kReturnMemoryAbove);
  std::free(block);
  EXPECT_EQ(mallinfo2().hblkhd, mapped_before);
}
#endif
