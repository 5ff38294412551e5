// WWW-Authenticate parsing (RFC 9110 §11.6.1: several challenges, quoted strings with escapes,
// token68, case-insensitive names) and the scope the client asks for (challenge, then the
// resource's scopes_supported, then none; the union on step-up).
#include <gtest/gtest.h>

#include <string>

#include "mcp/client_oauth_internal.hpp"

namespace {

namespace oauth = mcp::oauth;

TEST(OAuthWwwAuthenticate, BearerWithQuotedParameters) {
  auto p = oauth::bearer_params(
      R"(Bearer resource_metadata="http://h:1/.well-known/oauth-protected-resource/mcp", )"
      R"(scope="mcp:basic mcp:write", error="insufficient_scope")");
  EXPECT_EQ(p["resource_metadata"], "http://h:1/.well-known/oauth-protected-resource/mcp");
  EXPECT_EQ(p["scope"], "mcp:basic mcp:write");
  EXPECT_EQ(p["error"], "insufficient_scope");
}

TEST(OAuthWwwAuthenticate, SeveralChallengesEscapesAndToken68) {
  auto all = oauth::parse_www_authenticate(
      R"(Basic YWxhZGRpbjpvcGVuc2VzYW1l==, DPoP algs="ES256 PS256" , )"
      R"(bearer realm="a \"quoted\" realm, with comma",ERROR=invalid_token, error_description="x")");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].scheme, "Basic");
  EXPECT_EQ(all[0].params[""], "YWxhZGRpbjpvcGVuc2VzYW1l==");
  EXPECT_EQ(all[1].scheme, "DPoP");
  EXPECT_EQ(all[1].params["algs"], "ES256 PS256");
  EXPECT_EQ(all[2].scheme, "bearer");
  EXPECT_EQ(all[2].params["realm"], R"(a "quoted" realm, with comma)");
  EXPECT_EQ(all[2].params["error"], "invalid_token");
  EXPECT_EQ(all[2].params["error_description"], "x");
  EXPECT_EQ(oauth::bearer_params(R"(DPoP algs="ES256", Bearer scope="s")")["scope"], "s");
}

TEST(OAuthWwwAuthenticate, EmptyAndMalformedValues) {
  EXPECT_TRUE(oauth::parse_www_authenticate("").empty());
  EXPECT_TRUE(oauth::bearer_params("Basic realm=\"x\"").empty());
  auto p = oauth::bearer_params("Bearer");
  EXPECT_TRUE(p.empty());
  // An unterminated quoted string ends the challenge without crashing.
  auto q = oauth::bearer_params(R"(Bearer scope="never ends)");
  EXPECT_EQ(q.count("scope"), 0u);
}

TEST(OAuthScope, ChallengeThenScopesSupportedThenNone) {
  EXPECT_EQ(oauth::select_scope("a b", {"c", "d"}), "a b");
  EXPECT_EQ(oauth::select_scope("", {"c", "d"}), "c d");
  EXPECT_EQ(oauth::select_scope("", {}), "");
}

TEST(OAuthScope, UnionKeepsOrderWithoutDuplicates) {
  EXPECT_EQ(oauth::scope_union("mcp:basic", "mcp:write"), "mcp:basic mcp:write");
  EXPECT_EQ(oauth::scope_union("a b", "b  c a"), "a b c");
  EXPECT_EQ(oauth::scope_union("", ""), "");
  EXPECT_TRUE(oauth::scope_contains("a offline_access", "offline_access"));
  EXPECT_FALSE(oauth::scope_contains("a offline_accessx", "offline_access"));
}

}  // namespace
