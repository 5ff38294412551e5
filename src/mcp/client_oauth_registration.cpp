// The client's identity at an authorization server, in the order the MCP authorization
// specification gives: a Client ID Metadata Document URL (when the server supports them), a
// pre-registered client, dynamic client registration (RFC 7591).
#include <boost/json/serialize.hpp>

#include "client_oauth_internal.hpp"
#include "mcp/client_error.hpp"

namespace mcp::oauth {

using Kind = ClientError::Kind;

ClientIdentity client_identity(const ServerMetadata& as, const RegistrationInput& in,
                               const HttpOptions& http) {
  ClientIdentity id;
  if (!in.metadata_url.empty() && as.client_id_metadata_document_supported) {
    id.client_id = in.metadata_url;
    id.auth_method = "none";
    return id;
  }
  if (!in.client_id.empty()) {
    id.client_id = in.client_id;
    id.client_secret = in.client_secret;
    id.key_pem = in.key_pem;
    id.key_alg = in.key_alg;
    if (!in.auth_method.empty())
      id.auth_method = in.auth_method;
    else if (!in.key_pem.empty())
      id.auth_method = "private_key_jwt";
    else
      id.auth_method =
          choose_auth_method(as.token_endpoint_auth_methods_supported, !in.client_secret.empty());
    return id;
  }
  if (as.registration_endpoint.empty())
    throw ClientError(Kind::kAuthorization,
                      "OAuth: the authorization server " + as.issuer +
                          " offers no dynamic client registration, and no client_id was given");
  boost::json::object req;
  req["client_name"] = in.client_name;
  req["redirect_uris"] = boost::json::array{boost::json::string(in.redirect_uri)};
  req["grant_types"] = boost::json::array{"authorization_code", "refresh_token"};
  req["response_types"] = boost::json::array{"code"};
  const std::string wanted = choose_auth_method(as.token_endpoint_auth_methods_supported, true);
  req["token_endpoint_auth_method"] = wanted;
  if (!in.application_type.empty()) req["application_type"] = in.application_type;
  HttpAnswer a =
      http_request("POST", as.registration_endpoint,
                   {{"Content-Type", "application/json"}, {"Accept", "application/json"}},
                   boost::json::serialize(req), http.ca_file, http.timeout);
  const std::string where = "the registration endpoint " + as.registration_endpoint;
  if (a.status != 200 && a.status != 201) {
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
                      "OAuth: " + where + " refused the registration: " + why);
  }
  auto o = json_object(a, "the answer of " + where);
  if (const auto* v = o.if_contains("client_id"); v && v->is_string())
    id.client_id = std::string(v->get_string());
  if (id.client_id.empty())
    throw ClientError(Kind::kAuthorization, "OAuth: " + where + " answered without a client_id");
  if (const auto* v = o.if_contains("client_secret"); v && v->is_string())
    id.client_secret = std::string(v->get_string());
  if (const auto* v = o.if_contains("token_endpoint_auth_method"); v && v->is_string())
    id.auth_method = std::string(v->get_string());
  else
    id.auth_method = id.client_secret.empty() ? "none" : wanted;
  if (id.auth_method != "none" && id.auth_method != "client_secret_basic" &&
      id.auth_method != "client_secret_post")
    throw ClientError(Kind::kAuthorization, "OAuth: " + where +
                                                " registered the client for token endpoint "
                                                "authentication '" +
                                                id.auth_method + "', which this client lacks");
  return id;
}

}  // namespace mcp::oauth
