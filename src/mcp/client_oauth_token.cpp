// The token endpoint (OAuth 2.1 §3.2): one grant per request, the client authenticated by
// client_secret_basic, client_secret_post or none (public client, client_id in the body).
#include <algorithm>

#include "client_oauth_internal.hpp"
#include "crypto.hpp"
#include "mcp/client_error.hpp"

namespace mcp::oauth {

using Kind = ClientError::Kind;

std::string choose_auth_method(const std::vector<std::string>& supported, bool has_secret) {
  auto offers = [&](const char* m) {
    return std::find(supported.begin(), supported.end(), m) != supported.end();
  };
  if (!has_secret) return "none";
  // RFC 8414 §2: an absent list means client_secret_basic.
  if (supported.empty() || offers("client_secret_basic")) return "client_secret_basic";
  if (offers("client_secret_post")) return "client_secret_post";
  return "none";
}

Tokens token_request(const ServerMetadata& as, const ClientIdentity& client, Params grant,
                     const HttpOptions& http) {
  std::string grant_type;
  for (const auto& [k, v] : grant)
    if (k == "grant_type") grant_type = v;
  std::vector<std::pair<std::string, std::string>> headers{
      {"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
  if (client.auth_method == "client_secret_basic") {
    // RFC 6749 §2.3.1: each part form-encoded before base64.
    headers.emplace_back("Authorization",
                         "Basic " + crypto::base64_encode(percent_encode(client.client_id) + ":" +
                                                          percent_encode(client.client_secret)));
  } else if (client.auth_method == "private_key_jwt") {
    grant.emplace_back("client_id", client.client_id);
    grant.emplace_back("client_assertion_type",
                       "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    grant.emplace_back("client_assertion", client_assertion(client.key_pem, client.key_alg,
                                                            client.client_id, as.issuer));
  } else {
    grant.emplace_back("client_id", client.client_id);
    if (client.auth_method == "client_secret_post")
      grant.emplace_back("client_secret", client.client_secret);
  }
  HttpAnswer a = http_request("POST", as.token_endpoint, headers, form_encode(grant), http.ca_file,
                              http.timeout);
  const std::string where = "the token endpoint " + as.token_endpoint;
  if (a.status != 200) {
    std::string why = "HTTP " + std::to_string(a.status);
    try {
      auto o = json_object(a, where);
      if (const auto* e = o.if_contains("error"); e && e->is_string())
        why += " " + std::string(e->get_string());
      if (const auto* d = o.if_contains("error_description"); d && d->is_string())
        why += ": " + std::string(d->get_string());
    } catch (const ClientError&) {
      // not a JSON error body: the status says it
    }
    throw ClientError(Kind::kAuthorization,
                      "OAuth: " + where + " answered the " + grant_type + " grant with " + why);
  }
  auto o = json_object(a, "the answer of " + where);
  Tokens t;
  if (const auto* v = o.if_contains("access_token"); v && v->is_string())
    t.access_token = std::string(v->get_string());
  if (t.access_token.empty())
    throw ClientError(Kind::kAuthorization, "OAuth: " + where + " answered the " + grant_type +
                                                " grant without an access_token");
  if (const auto* v = o.if_contains("token_type"); v && v->is_string()) {
    std::string type(v->get_string());
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (type != "bearer")
      throw ClientError(Kind::kAuthorization, "OAuth: " + where + " issued a token of type '" +
                                                  std::string(v->get_string()) + "', not Bearer");
  }
  if (const auto* v = o.if_contains("refresh_token"); v && v->is_string())
    t.refresh_token = std::string(v->get_string());
  if (const auto* v = o.if_contains("scope"); v && v->is_string())
    t.scope = std::string(v->get_string());
  return t;
}

}  // namespace mcp::oauth
