// The pieces of mcp::OAuthClientAuthorizer (mcp/client_oauth.hpp), one concept per file:
// client_oauth_http.cpp (one HTTP request, form and query encoding), client_oauth_challenge.cpp
// (WWW-Authenticate, scope selection), client_oauth_discovery.cpp (metadata URLs and checks),
// client_oauth_pkce.cpp (PKCE, state, the authorization response), client_oauth_token.cpp
// (the token endpoint and its client authentication), client_oauth_jwt.cpp (private_key_jwt),
// client_oauth_registration.cpp (the client's identity). Pure functions except http_request; every
// failure is a ClientError kAuthorization.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mcp::oauth {

// --- one HTTP request (client_oauth_http.cpp) ---

struct HttpAnswer {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& lower_name) const;
};

// One request on a connection of its own (https with the certificate verified against the
// system's roots and `ca_file`), bounded by `timeout` as a whole. Redirects are not followed.
// Throws ClientError kAuthorization when no answer came ("cannot reach URL: why").
HttpAnswer http_request(const std::string& method, const std::string& url,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body, const std::string& ca_file,
                        std::chrono::milliseconds timeout);

using Params = std::vector<std::pair<std::string, std::string>>;
// application/x-www-form-urlencoded (RFC 6749 appendix B: space as %20 is accepted too).
std::string percent_encode(std::string_view s);
std::string form_encode(const Params& params);
// `url` with `params` appended to its query.
std::string with_query(const std::string& url, const Params& params);
// The decoded query parameters of `url` (the first of each name).
std::map<std::string, std::string> query_of(const std::string& url);
// The body of a JSON answer as an object; throws ClientError kAuthorization naming `what`.
boost::json::object json_object(const HttpAnswer& a, const std::string& what);

// --- WWW-Authenticate and scope (client_oauth_challenge.cpp) ---

struct Challenge {
  std::string scheme;                         // as sent ("Bearer")
  std::map<std::string, std::string> params;  // names in lower case, values unquoted
};
// Every challenge of a WWW-Authenticate value (RFC 9110 §11.6.1): several challenges, quoted
// strings with escapes, token68. Malformed parts are skipped.
std::vector<Challenge> parse_www_authenticate(std::string_view value);
// The Bearer challenge's parameters (empty when there is none).
std::map<std::string, std::string> bearer_params(std::string_view www_authenticate);

// The scope to ask for: the challenge's, else the resource's scopes_supported joined, else "".
std::string select_scope(const std::string& challenge_scope,
                         const std::vector<std::string>& resource_scopes_supported);
// The space-separated union of two scope strings, `a`'s order first.
std::string scope_union(const std::string& a, const std::string& b);
bool scope_contains(const std::string& scope, const std::string& one);

// --- discovery (client_oauth_discovery.cpp) ---

// The canonical URI of the MCP server (RFC 8707): scheme and host in lower case, no fragment,
// no trailing "/" of an empty path.
std::string canonical_resource(const std::string& server_url);
// Where the protected resource metadata may be, in order: path-inserted, then root.
std::vector<std::string> resource_metadata_urls(const std::string& server_url);
// Where the authorization server metadata may be, in the specification's order.
std::vector<std::string> authorization_server_metadata_urls(const std::string& issuer);
// Whether the metadata's `resource` names the server: same scheme, host and port, and its path
// is the server's or a prefix of it at a "/".
bool resource_matches(const std::string& resource, const std::string& server_url);

struct ResourceMetadata {
  std::string url;  // where it was read
  std::string resource;
  std::vector<std::string> authorization_servers;
  std::vector<std::string> scopes_supported;
};
struct ServerMetadata {
  std::string url;  // where it was read
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string registration_endpoint;
  std::vector<std::string> scopes_supported;
  std::vector<std::string> grant_types_supported;
  std::vector<std::string> token_endpoint_auth_methods_supported;
  std::vector<std::string> code_challenge_methods_supported;
  bool has_code_challenge_methods = false;
  bool client_id_metadata_document_supported = false;
  bool iss_parameter_supported = false;
};
ResourceMetadata parse_resource_metadata(const boost::json::object& o, const std::string& url);
// Checks the issuer (equal to `issuer` as given) and the endpoints the flow needs.
ServerMetadata parse_server_metadata(const boost::json::object& o, const std::string& url,
                                     const std::string& issuer);

struct HttpOptions {
  std::string ca_file;
  std::chrono::milliseconds timeout{10000};
};
// Reads the resource metadata (`hint` first when given) and checks its resource.
ResourceMetadata discover_resource(const std::string& server_url, const std::string& hint,
                                   const HttpOptions& http);
ServerMetadata discover_server(const std::string& issuer, const HttpOptions& http);

// --- PKCE, state, the authorization response (client_oauth_pkce.cpp) ---

struct Pkce {
  std::string verifier;   // 43 characters of the unreserved set (32 random bytes, base64url)
  std::string challenge;  // BASE64URL(SHA256(verifier))
};
Pkce make_pkce();
std::string s256_challenge(std::string_view verifier);
std::string make_state();

// The code of the authorization response at `redirect` after checking it: no `error`, the
// state, and the issuer (RFC 9207: a present `iss` must equal `issuer` exactly; it must be
// present when `iss_supported`).
std::string authorization_code(const std::string& redirect, const std::string& state,
                               const std::string& issuer, bool iss_supported);

// --- the token endpoint (client_oauth_token.cpp) ---

struct ClientIdentity {
  std::string client_id;
  std::string client_secret;
  std::string auth_method;  // client_secret_basic, client_secret_post, private_key_jwt, none
  std::string key_pem;      // private_key_jwt: the PEM private key and its JWS algorithm
  std::string key_alg;
};
struct Tokens {
  std::string access_token;
  std::string refresh_token;
  std::string scope;
};
// The auth method for a client with (or without) a secret, from the server's list.
std::string choose_auth_method(const std::vector<std::string>& supported, bool has_secret);
// POSTs `grant` (grant_type and its parameters) with the client's authentication; throws
// ClientError kAuthorization naming the endpoint and the server's error.
Tokens token_request(const ServerMetadata& as, const ClientIdentity& client, Params grant,
                     const HttpOptions& http);

// --- private_key_jwt (client_oauth_jwt.cpp) ---

// A client assertion (RFC 7523): iss and sub `client_id`, aud `audience` (the issuer), five
// minutes of life, a random jti, signed with `key_pem` by `alg` (ES256 or RS256).
std::string client_assertion(const std::string& key_pem, const std::string& alg,
                             const std::string& client_id, const std::string& audience);

// --- the client's identity (client_oauth_registration.cpp) ---

struct RegistrationInput {
  std::string metadata_url;  // Client ID Metadata Document URL, or ""
  std::string client_id;     // pre-registered, or ""
  std::string client_secret;
  std::string auth_method;
  std::string key_pem;  // private_key_jwt
  std::string key_alg;
  std::string redirect_uri;
  std::string client_name;
  std::string application_type;
};
// Client ID Metadata Document, pre-registration or dynamic registration, in that order.
ClientIdentity client_identity(const ServerMetadata& as, const RegistrationInput& in,
                               const HttpOptions& http);

}  // namespace mcp::oauth
