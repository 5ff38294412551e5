// URI templates, base64 and request-state crypto helpers, and the transport flags.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "mcp/crypto.hpp"
#include "mcp/uri_template.hpp"

namespace {

TEST(UriTemplate, MatchesSimpleAndReservedVariables) {
  auto m = mcp::match_uri_template("test://template/{id}/data", "test://template/123/data");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("id"), "123");
  EXPECT_FALSE(mcp::match_uri_template("test://template/{id}/data", "test://template/1/2/data"));
  EXPECT_FALSE(mcp::match_uri_template("test://template/{id}/data", "test://template//data"));
  auto r = mcp::match_uri_template("refcache://{ref_id}", "refcache://calc:0011223344556677");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("ref_id"), "calc:0011223344556677");
  auto p = mcp::match_uri_template("file:///{+path}", "file:///a/b%20c.txt");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->at("path"), "a/b c.txt");
  auto two = mcp::match_uri_template("db://{table}/{row}", "db://users/42");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->at("table"), "users");
  EXPECT_EQ(two->at("row"), "42");
  EXPECT_FALSE(mcp::match_uri_template("db://{table}/{row}", "other://users/42"));
}

TEST(Base64, StrictDecoding) {
  std::string out;
  EXPECT_TRUE(mcp::crypto::base64_decode("SGVsbG8=", out));
  EXPECT_EQ(out, "Hello");
  EXPECT_FALSE(mcp::crypto::base64_decode("SGVsbG8", out));      // missing padding
  EXPECT_FALSE(mcp::crypto::base64_decode("SGVs!!!bG8=", out));  // bad characters
  EXPECT_FALSE(mcp::crypto::base64_decode("SGVsbG9=", out));     // non-canonical trailing bits
  EXPECT_EQ(mcp::crypto::base64_encode("Hello"), "SGVsbG8=");
  std::string bin(256, '\0');
  for (int i = 0; i < 256; ++i) bin[i] = static_cast<char>(i);
  ASSERT_TRUE(mcp::crypto::base64url_decode(mcp::crypto::base64url_encode(bin), out));
  EXPECT_EQ(out, bin);
}

TEST(Crypto, RandomIdsAndHmac) {
  std::string a = mcp::crypto::random_hex(16), b = mcp::crypto::random_hex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  // RFC 4231 test case 2 (hex 5bdcc146...64ec3843).
  std::string mac = mcp::crypto::hmac_sha256("Jefe", "what do ya want for nothing?");
  EXPECT_EQ(mcp::crypto::base64_encode(mac), "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
  EXPECT_TRUE(mcp::crypto::equal_ct(mac, mac));
  EXPECT_FALSE(mcp::crypto::equal_ct(mac, mac.substr(1)));
}

}  // namespace

#include "mcp/serve.hpp"
#include "mcp/transport_flags.hpp"

namespace {

// argv for the parsers, from string literals.
struct Args {
  explicit Args(std::initializer_list<const char*> a) : v(a) {}
  int argc() const { return static_cast<int>(v.size()); }
  char** argv() { return const_cast<char**>(v.data()); }
  std::vector<const char*> v;
};

// Sets (or, with nullptr, unsets) an environment variable for a test's scope.
struct ScopedEnv {
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~ScopedEnv() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }
  const char* name_;
  std::optional<std::string> old_;
};

TEST(TransportFlags, FlagsWinOverEnvironmentWhichWinsOverDefaults) {
  ScopedEnv t("MCP_TRANSPORT", nullptr), p("MCP_PORT", "9100"), h("MCP_HOST", "127.0.0.2");
  Args a1{"prog"};
  auto c = mcp::TransportConfig::from_flags(a1.argc(), a1.argv());
  EXPECT_EQ(c.kind, mcp::TransportConfig::Kind::kStdio);
  EXPECT_EQ(c.http.port, 9100);
  EXPECT_EQ(c.http.host, "127.0.0.2");
  Args a2{"prog",
          "--transport",
          "http",
          "--port",
          "0",
          "--allowed-host",
          "mcp.example.com",
          "--no-legacy-sse",
          "--app-flag",
          "value"};
  c = mcp::TransportConfig::from_flags(a2.argc(), a2.argv());
  EXPECT_EQ(c.kind, mcp::TransportConfig::Kind::kHttp);
  EXPECT_EQ(c.http.port, 0);
  EXPECT_EQ(c.http.allowed_hosts, std::vector<std::string>{"mcp.example.com"});
  EXPECT_FALSE(c.http.legacy_sse);
  Args a3{"prog", "--port", "70000"};
  EXPECT_THROW(mcp::TransportConfig::from_flags(a3.argc(), a3.argv()), std::invalid_argument);
}

TEST(TransportFlags, DefaultsAreTheConfigsOwn) {
  ScopedEnv t("MCP_TRANSPORT", nullptr), p("MCP_PORT", nullptr), h("MCP_HOST", nullptr);
  Args a{"prog"};
  auto c = mcp::TransportConfig::from_flags(a.argc(), a.argv());
  EXPECT_EQ(c.kind, mcp::TransportConfig::Kind::kStdio);
  EXPECT_EQ(c.http.port, 8000);
  EXPECT_EQ(c.http.host, "127.0.0.1");
  EXPECT_EQ(c.http.path, "/mcp");
  EXPECT_EQ(c.http.metrics_path, "/metrics");
  EXPECT_EQ(c.http.max_connections, mcp::HttpOptions{}.max_connections);

  // An application's defaults, set before the flags are added, are the defaults.
  CLI::App app;
  mcp::TransportConfig mine;
  mine.kind = mcp::TransportConfig::Kind::kHttp;
  mine.http.port = 8123;
  mcp::add_transport_flags(app, mine);
  Args none{"prog"};
  app.parse(none.argc(), none.argv());
  EXPECT_EQ(mine.kind, mcp::TransportConfig::Kind::kHttp);
  EXPECT_EQ(mine.http.port, 8123);
}

TEST(TransportFlags, EveryFlagReachesItsOption) {
  ScopedEnv t("MCP_TRANSPORT", "http"), p("MCP_PORT", nullptr), h("MCP_HOST", nullptr);
  CLI::App app;
  mcp::TransportConfig c;
  mcp::add_transport_flags(app, c);
  std::string data;
  app.add_option("--data", data);  // the application's own flags share the parser
  Args a{"prog",
         "--stdio",  // beats MCP_TRANSPORT
         "--host",
         "0.0.0.0",
         "--port",
         "8500",
         "--path",
         "/rpc",
         "--allowed-host",
         "a.example",
         "--allowed-host",
         "b.example",
         "--allowed-origin",
         "https://app.example",
         "--allow-any-host",
         "--max-connections",
         "10",
         "--no-metrics",
         "--data",
         "/srv"};
  app.parse(a.argc(), a.argv());
  EXPECT_EQ(c.kind, mcp::TransportConfig::Kind::kStdio);
  EXPECT_EQ(c.http.host, "0.0.0.0");
  EXPECT_EQ(c.http.port, 8500);
  EXPECT_EQ(c.http.path, "/rpc");
  EXPECT_EQ(c.http.allowed_hosts, (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(c.http.allowed_origins, std::vector<std::string>{"https://app.example"});
  EXPECT_TRUE(c.http.allow_any_host);
  EXPECT_EQ(c.http.max_connections, 10u);
  EXPECT_TRUE(c.http.metrics_path.empty());
  EXPECT_TRUE(c.http.legacy_sse);
  EXPECT_EQ(data, "/srv");

  CLI::App env_only;
  mcp::TransportConfig e;
  mcp::add_transport_flags(env_only, e);
  Args none{"prog"};
  env_only.parse(none.argc(), none.argv());
  EXPECT_EQ(e.kind, mcp::TransportConfig::Kind::kHttp);  // MCP_TRANSPORT
}

TEST(TransportFlags, MalformedValuesAreParseErrors) {
  ScopedEnv t("MCP_TRANSPORT", nullptr), p("MCP_PORT", nullptr), h("MCP_HOST", nullptr);
  for (std::initializer_list<const char*> bad : {
           std::initializer_list<const char*>{"prog", "--transport", "ftp"},
           {"prog", "--port", "65536"},
           {"prog", "--port", "-1"},
           {"prog", "--port", "http"},
           {"prog", "--path", "mcp"},
           {"prog", "--allowed-host", "*"},
           {"prog", "--allowed-origin", "*"},
           {"prog", "--max-connections", "0"},
           {"prog", "--stdio", "--http"},
       }) {
    CLI::App app;
    mcp::TransportConfig c;
    mcp::add_transport_flags(app, c);
    Args a(bad);
    EXPECT_THROW(app.parse(a.argc(), a.argv()), CLI::ParseError) << a.v[1];
  }
  ScopedEnv bad_port("MCP_PORT", "eighty");
  Args a{"prog"};
  EXPECT_THROW(mcp::TransportConfig::from_flags(a.argc(), a.argv()), std::invalid_argument);
}

}  // namespace
