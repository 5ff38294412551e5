// Discovery's URLs and checks: the protected resource metadata and authorization server
// metadata well-known URLs with path insertion in the specification's order, the canonical
// resource URI, the resource and issuer checks, PKCE support, the token endpoint
// authentication chosen.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <vector>

#include "mcp/client_error.hpp"
#include "mcp/client_oauth_internal.hpp"

namespace {

using mcp::ClientError;
namespace oauth = mcp::oauth;
using V = std::vector<std::string>;

TEST(OAuthDiscovery, ResourceMetadataUrlsPathInsertedThenRoot) {
  EXPECT_EQ(oauth::resource_metadata_urls("https://h.example:8443/public/mcp"),
            (V{"https://h.example:8443/.well-known/oauth-protected-resource/public/mcp",
               "https://h.example:8443/.well-known/oauth-protected-resource"}));
  EXPECT_EQ(oauth::resource_metadata_urls("http://127.0.0.1:3000/"),
            (V{"http://127.0.0.1:3000/.well-known/oauth-protected-resource"}));
}

TEST(OAuthDiscovery, AuthorizationServerMetadataUrlsInSpecOrder) {
  EXPECT_EQ(oauth::authorization_server_metadata_urls("https://auth.example.com/tenant1"),
            (V{"https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
               "https://auth.example.com/.well-known/openid-configuration/tenant1",
               "https://auth.example.com/tenant1/.well-known/openid-configuration"}));
  EXPECT_EQ(oauth::authorization_server_metadata_urls("https://auth.example.com"),
            (V{"https://auth.example.com/.well-known/oauth-authorization-server",
               "https://auth.example.com/.well-known/openid-configuration"}));
  EXPECT_EQ(oauth::authorization_server_metadata_urls("https://auth.example.com/"),
            (V{"https://auth.example.com/.well-known/oauth-authorization-server",
               "https://auth.example.com/.well-known/openid-configuration"}));
}

TEST(OAuthDiscovery, CanonicalResource) {
  EXPECT_EQ(oauth::canonical_resource("HTTPS://MCP.Example.com/mcp#frag"),
            "https://mcp.example.com/mcp");
  EXPECT_EQ(oauth::canonical_resource("https://mcp.example.com/"), "https://mcp.example.com");
  EXPECT_EQ(oauth::canonical_resource("https://mcp.example.com:443/x"),
            "https://mcp.example.com/x");
  EXPECT_EQ(oauth::canonical_resource("http://localhost:3000/mcp"), "http://localhost:3000/mcp");
}

TEST(OAuthDiscovery, ResourceMustNameTheServer) {
  EXPECT_TRUE(oauth::resource_matches("http://localhost:3000/mcp", "http://localhost:3000/mcp"));
  EXPECT_TRUE(oauth::resource_matches("http://localhost:3000", "http://localhost:3000/mcp"));
  EXPECT_TRUE(oauth::resource_matches("http://LOCALHOST:3000/", "http://localhost:3000/mcp"));
  EXPECT_FALSE(
      oauth::resource_matches("https://evil.example.com/mcp", "http://localhost:3000/mcp"));
  EXPECT_FALSE(oauth::resource_matches("http://localhost:3001/mcp", "http://localhost:3000/mcp"));
  EXPECT_FALSE(oauth::resource_matches("http://localhost:3000/mc", "http://localhost:3000/mcp"));
  EXPECT_FALSE(oauth::resource_matches("http://localhost:3000/other", "http://localhost:3000/mcp"));
  EXPECT_FALSE(oauth::resource_matches("", "http://localhost:3000/mcp"));
}

boost::json::object obj(const char* text) {
  return boost::json::parse(text).as_object();
}

TEST(OAuthDiscovery, ServerMetadataIssuerMustEqualTheIssuerExactly) {
  const char* doc = R"({"issuer":"http://as:1/tenant1","authorization_endpoint":"http://as:1/a",
      "token_endpoint":"http://as:1/t","code_challenge_methods_supported":["S256"],
      "authorization_response_iss_parameter_supported":true,
      "client_id_metadata_document_supported":true})";
  auto m = oauth::parse_server_metadata(obj(doc), "http://as:1/m", "http://as:1/tenant1");
  EXPECT_EQ(m.token_endpoint, "http://as:1/t");
  EXPECT_TRUE(m.iss_parameter_supported);
  EXPECT_TRUE(m.client_id_metadata_document_supported);
  EXPECT_TRUE(m.has_code_challenge_methods);
  for (const char* other : {"http://as:1/tenant1/", "http://as:1", "http://evil:1/tenant1"}) {
    try {
      oauth::parse_server_metadata(obj(doc), "http://as:1/m", other);
      ADD_FAILURE() << other;
    } catch (const ClientError& e) {
      EXPECT_EQ(e.kind(), ClientError::Kind::kAuthorization);
      EXPECT_NE(std::string(e.what()).find("has issuer 'http://as:1/tenant1', not '"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(OAuthDiscovery, ResourceMetadataNeedsAnAuthorizationServer) {
  auto m = oauth::parse_resource_metadata(
      obj(R"({"resource":"http://h/mcp","authorization_servers":["http://as"],"scopes_supported":["a","b"]})"),
      "u");
  EXPECT_EQ(m.authorization_servers, V{"http://as"});
  EXPECT_EQ(m.scopes_supported, (V{"a", "b"}));
  EXPECT_THROW(oauth::parse_resource_metadata(obj(R"({"resource":"http://h/mcp"})"), "u"),
               ClientError);
}

TEST(OAuthToken, AuthMethodFromTheServersList) {
  EXPECT_EQ(oauth::choose_auth_method({}, true), "client_secret_basic");
  EXPECT_EQ(oauth::choose_auth_method({"client_secret_post"}, true), "client_secret_post");
  EXPECT_EQ(oauth::choose_auth_method({"client_secret_post", "client_secret_basic"}, true),
            "client_secret_basic");
  EXPECT_EQ(oauth::choose_auth_method({"none"}, true), "none");
  EXPECT_EQ(oauth::choose_auth_method({"client_secret_basic"}, false), "none");
}

TEST(OAuthEncoding, FormAndQuery) {
  EXPECT_EQ(oauth::form_encode({{"a b", "c&d=e"}, {"x", "é/"}}), "a%20b=c%26d%3De&x=%C3%A9%2F");
  EXPECT_EQ(oauth::with_query("http://h/p?q=1#f", {{"k", "v w"}}), "http://h/p?q=1&k=v%20w");
  auto q = oauth::query_of("http://l/cb?code=a%2Bb&state=s&iss=http%3A%2F%2Fas");
  EXPECT_EQ(q["code"], "a+b");
  EXPECT_EQ(q["iss"], "http://as");
}

}  // namespace
