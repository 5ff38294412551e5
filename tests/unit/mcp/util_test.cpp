// URI templates, base64 and request-state crypto helpers.
#include <gtest/gtest.h>

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

namespace {

TEST(TransportConfig, FlagsWinOverEnvironmentAndDefaults) {
  ::unsetenv("MCP_TRANSPORT");
  ::setenv("MCP_PORT", "9100", 1);
  ::setenv("MCP_HOST", "127.0.0.2", 1);
  const char* a1[] = {"prog"};
  auto c = mcp::TransportConfig::from_flags(1, const_cast<char**>(a1));
  EXPECT_EQ(c.kind, mcp::TransportConfig::Kind::kStdio);
  EXPECT_EQ(c.http.port, 9100);
  EXPECT_EQ(c.http.host, "127.0.0.2");
  const char* a2[] = {"prog",
                      "--transport",
                      "http",
                      "--port",
                      "0",
                      "--allow-host",
                      "mcp.example.com",
                      "--no-legacy-sse",
                      "--app-flag"};
  c = mcp::TransportConfig::from_flags(9, const_cast<char**>(a2));
  EXPECT_EQ(c.kind, mcp::TransportConfig::Kind::kHttp);
  EXPECT_EQ(c.http.port, 0);
  EXPECT_EQ(c.http.allowed_hosts, std::vector<std::string>{"mcp.example.com"});
  EXPECT_FALSE(c.http.legacy_sse);
  const char* a3[] = {"prog", "--port", "70000"};
  EXPECT_THROW(mcp::TransportConfig::from_flags(3, const_cast<char**>(a3)), std::invalid_argument);
  ::unsetenv("MCP_PORT");
  ::unsetenv("MCP_HOST");
  c = mcp::TransportConfig::from_flags(1, const_cast<char**>(a1));
  EXPECT_EQ(c.http.port, 8000);
  EXPECT_EQ(c.http.host, "127.0.0.1");
}

}  // namespace
