// PKCE S256 (RFC 7636) against the RFC's appendix B vector, the shape of generated verifiers
// and states, and the checks of the authorization response (state, error, RFC 9207 issuer).
#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <set>
#include <string>

#include "mcp/client_error.hpp"
#include "mcp/client_oauth_internal.hpp"

namespace {

using mcp::ClientError;
namespace oauth = mcp::oauth;

ClientError::Kind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ClientError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no ClientError";
  return ClientError::Kind::kTimeout;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ClientError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(OAuthPkce, Rfc7636AppendixBVector) {
  EXPECT_EQ(oauth::s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(OAuthPkce, VerifiersAreUnreservedFortyThreeCharactersAndFresh) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    auto p = oauth::make_pkce();
    ASSERT_EQ(p.verifier.size(), 43u);
    for (char c : p.verifier)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
    EXPECT_EQ(p.challenge, oauth::s256_challenge(p.verifier));
    EXPECT_TRUE(seen.insert(p.verifier).second);
    EXPECT_TRUE(seen.insert(oauth::make_state()).second);
  }
}

TEST(OAuthAuthorizationResponse, GivesTheCodeWhenStateAndIssuerMatch) {
  EXPECT_EQ(oauth::authorization_code("http://localhost/cb?code=abc&state=s1&iss=https%3A%2F%2Fas",
                                      "s1", "https://as", true),
            "abc");
  // Not advertised and absent: accepted.
  EXPECT_EQ(
      oauth::authorization_code("http://localhost/cb?code=abc&state=s1", "s1", "https://as", false),
      "abc");
}

TEST(OAuthAuthorizationResponse, RefusesAWrongOrMissingIssuer) {
  auto code = [](const std::string& redirect, bool supported) {
    return [=] { oauth::authorization_code(redirect, "s1", "https://as", supported); };
  };
  // Present and different, advertised or not.
  EXPECT_EQ(kind_of(code("http://l/cb?code=c&state=s1&iss=https%3A%2F%2Fevil", true)),
            ClientError::Kind::kAuthorization);
  EXPECT_EQ(kind_of(code("http://l/cb?code=c&state=s1&iss=https%3A%2F%2Fevil", false)),
            ClientError::Kind::kAuthorization);
  // A normalization-equivalent variant is a mismatch (simple string comparison).
  EXPECT_NE(message_of(code("http://l/cb?code=c&state=s1&iss=https%3A%2F%2Fas%2F", true))
                .find("issuer 'https://as/'"),
            std::string::npos);
  // Advertised and absent.
  EXPECT_NE(message_of(code("http://l/cb?code=c&state=s1", true)).find("lacks the iss"),
            std::string::npos);
}

TEST(OAuthAuthorizationResponse, RefusesAWrongStateAnErrorAndNoCode) {
  EXPECT_NE(message_of([] {
              oauth::authorization_code("http://l/cb?code=c&state=s2", "s1", "i", false);
            }).find("state"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              oauth::authorization_code("http://l/cb?error=access_denied&state=s1", "s1", "i",
                                        false);
            }).find("access_denied"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              oauth::authorization_code("http://l/cb?state=s1", "s1", "i", false);
            }).find("no code"),
            std::string::npos);
}

}  // namespace
