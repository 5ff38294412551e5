// mcp::ClientAuthorizer and mcp::OAuthClientAuthorizer: authorization of the client's HTTP
// requests to an MCP server, as the MCP authorization specification (2025-11-25, 2026-07-28)
// gives it: OAuth 2.1 with PKCE, discovered from the server.
//
// Contract: a ClientAuthorizer gives the Authorization header of every request the HTTP
// transport sends (StreamableHttpClientOptions::authorizer) and, when the server answers 401
// or 403 `insufficient_scope`, is asked to get new credentials; the transport then sends the
// request again. OAuthClientAuthorizer does the whole OAuth client flow on that call:
//  - discovery: the protected resource metadata (RFC 9728) at the `resource_metadata` of the
//    server's `WWW-Authenticate`, else at /.well-known/oauth-protected-resource with the
//    server's path inserted, then at the root; its `resource` must name the server (same
//    origin, a path prefix of the server's). Then the authorization server's metadata (RFC 8414
//    and OpenID Connect discovery, path-inserted forms first); its `issuer` must equal the
//    authorization server's URL exactly, and it must support PKCE S256;
//  - the client's identity, in the specification's order: a Client ID Metadata Document (the
//    https URL of client_id_metadata_url, when the server advertises
//    `client_id_metadata_document_supported`), else the pre-registered client_id/secret, else
//    dynamic client registration (RFC 7591) at the server's registration endpoint. Identities
//    are kept per authorization server: a server that moves to another one is registered with
//    again;
//  - the authorization code grant: the authorization URL (PKCE S256, `state`, `resource` = the
//    resource metadata's `resource`, else the canonical server URL; the scope) is handed to
//    open_authorization_url, whose answer is the redirect URL with `code`, `state` and `iss`. The
//    state must match; `iss` (RFC 9207) must equal the issuer by simple string comparison whenever
//    present, and be present when the server advertises
//    `authorization_response_iss_parameter_supported`;
//  - scope: the `scope` of the challenge, else the resource's `scopes_supported`, else none;
//    a step-up (403 insufficient_scope) asks for the union of the scopes already requested and
//    the challenged ones, at most max_step_ups times; `offline_access` is added when the
//    authorization server lists it (for a refresh token);
//  - the token endpoint, authenticated by client_secret_basic, client_secret_post,
//    private_key_jwt or none, as registration and the server's metadata say; a refused access token
//    is refreshed with the refresh_token grant before a new authorization is asked for.
// Headless programs give a fixed access_token instead, or client_credentials (the
// client_credentials grant with the pre-registered client_id and its secret or private key).
//
// Failures throw ClientError kAuthorization naming the step and the URL ("the authorization
// server metadata at URL has issuer 'X', not 'Y'", "the token endpoint URL answered the
// authorization_code grant with HTTP 400 invalid_grant: ..."); the transport fails the request
// with it. Tokens, secrets and codes
// are never logged.
//
// Thread-safety: every member function may be called from any thread. authorize() runs one
// flow at a time (others wait, and find the new credentials when one was just obtained);
// authorization() only reads the current token. The transport calls authorize() on a thread of
// its own, never on its I/O thread, so a flow that waits for a person does not stall other
// requests' answers; that thread holds the authorizer (a shared_ptr) until the flow ends, even
// past the transport's close(), and the request it was for then fails with the closed
// transport.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace mcp {

// What the server answered that asks for authorization.
struct AuthChallenge {
  unsigned status = 0;               // 401 or 403
  std::string www_authenticate{};    // the WWW-Authenticate header, "" when absent
  std::string server_url{};          // the MCP endpoint the request went to
  std::string sent_authorization{};  // the Authorization header the refused request carried
};

// The seam between an HTTP transport and whatever authorizes its requests.
class ClientAuthorizer {
 public:
  virtual ~ClientAuthorizer() = default;
  // The Authorization header value for the next request ("Bearer ..."), "" for none.
  virtual std::string authorization() = 0;
  // The server refused a request (`challenge`): get credentials worth a retry and return
  // true, or return false when there is nothing more to try (the request then fails with the
  // server's answer). Throws ClientError kAuthorization when the flow fails.
  virtual bool authorize(const AuthChallenge& challenge) = 0;
};

struct OAuthClientOptions {
  // A fixed access token sent as `Bearer` on every request; no flow is run, and a refusal
  // fails the request. Default none.
  std::string access_token{};
  // The https URL of the client's Client ID Metadata Document, used as client_id by
  // authorization servers that advertise client_id_metadata_document_supported. Default none.
  std::string client_id_metadata_url{};
  // A client pre-registered with the authorization server: its client_id and (for a
  // confidential client) client_secret. Default none.
  std::string client_id{};
  std::string client_secret{};
  // The pre-registered client's token endpoint authentication (client_secret_basic,
  // client_secret_post, private_key_jwt or none); "" = private_key_jwt when private_key_pem is
  // given, else chosen from the server's token_endpoint_auth_methods_supported (basic, then
  // post, then none). Default "".
  std::string token_endpoint_auth_method{};
  // private_key_jwt (RFC 7523): the pre-registered client's private key (PEM) and its JWS
  // algorithm, ES256 (P-256) or RS256; each token request carries a fresh assertion signed
  // with it, audience the issuer. Default none and "ES256".
  std::string private_key_pem{};
  std::string private_key_alg{"ES256"};
  // Run the client_credentials grant with client_id/client_secret instead of asking a person
  // (machine-to-machine). Default false.
  bool client_credentials = false;
  // The redirect URI registered and sent with the authorization request. Default
  // http://localhost:8976/callback.
  std::string redirect_uri{"http://localhost:8976/callback"};
  // Dynamic registration's client_name and application_type ("native" or "web"). Default
  // "refcache MCP client" and "native".
  std::string client_name{"refcache MCP client"};
  std::string application_type{"native"};
  // The human step: given the authorization URL, lead the user through it and return the URL
  // the authorization server redirected to (redirect_uri with code, state and iss), or throw.
  // Called on the thread that runs authorize(). Required for the authorization code grant.
  std::function<std::string(const std::string& authorization_url)> open_authorization_url{};
  // Scope asked for whatever the server says; "" (default) = the specification's selection.
  std::string scope{};
  // Re-authorizations for more scope (403 insufficient_scope) before a refusal is final.
  // Default 2.
  int max_step_ups = 2;
  // https:// endpoints: a PEM file trusted besides the system's roots. Default none.
  std::string ca_file{};
  // Each request to a metadata, registration or token endpoint: its whole duration. Default
  // 10 s.
  std::chrono::milliseconds request_timeout{10000};
};

class OAuthClientAuthorizer : public ClientAuthorizer {
 public:
  explicit OAuthClientAuthorizer(OAuthClientOptions options);
  ~OAuthClientAuthorizer() override;
  OAuthClientAuthorizer(const OAuthClientAuthorizer&) = delete;
  OAuthClientAuthorizer& operator=(const OAuthClientAuthorizer&) = delete;

  std::string authorization() override;
  bool authorize(const AuthChallenge& challenge) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcp
