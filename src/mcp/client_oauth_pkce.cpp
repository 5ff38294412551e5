// PKCE (RFC 7636, S256), the `state` of the authorization request, and the checks of the
// authorization response the redirect carries (state, error, RFC 9207 issuer).
#include "client_oauth_internal.hpp"
#include "crypto.hpp"
#include "mcp/client_error.hpp"

namespace mcp::oauth {

using Kind = ClientError::Kind;

std::string s256_challenge(std::string_view verifier) {
  return crypto::base64url_encode(crypto::sha256(verifier));
}

Pkce make_pkce() {
  Pkce p;
  p.verifier = crypto::base64url_encode(crypto::random_bytes(32));
  p.challenge = s256_challenge(p.verifier);
  return p;
}

std::string make_state() {
  return crypto::base64url_encode(crypto::random_bytes(24));
}

std::string authorization_code(const std::string& redirect, const std::string& state,
                               const std::string& issuer, bool iss_supported) {
  const auto q = query_of(redirect);
  auto get = [&](const char* k) -> const std::string* {
    auto it = q.find(k);
    return it == q.end() ? nullptr : &it->second;
  };
  const std::string* iss = get("iss");
  // RFC 9207 §2.4: a present iss is compared whether or not the server advertised it, by
  // simple string comparison; one the server promised must be there.
  if (iss && *iss != issuer)
    throw ClientError(Kind::kAuthorization, "OAuth: the authorization response names issuer '" +
                                                *iss + "', not '" + issuer + "' (RFC 9207)");
  if (!iss && iss_supported)
    throw ClientError(Kind::kAuthorization,
                      "OAuth: the authorization response lacks the iss parameter that " + issuer +
                          " advertises (RFC 9207)");
  if (const std::string* err = get("error")) {
    const std::string* desc = get("error_description");
    throw ClientError(Kind::kAuthorization, "OAuth: the authorization server " + issuer +
                                                " refused the authorization: " + *err +
                                                (desc ? ": " + *desc : std::string()));
  }
  const std::string* st = get("state");
  if (!st || !crypto::equal_ct(*st, state))
    throw ClientError(Kind::kAuthorization,
                      "OAuth: the authorization response's state does not match the request's");
  const std::string* code = get("code");
  if (!code || code->empty())
    throw ClientError(Kind::kAuthorization, "OAuth: the authorization response has no code");
  return *code;
}

}  // namespace mcp::oauth
