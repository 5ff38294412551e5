// mcp::OAuthClientAuthorizer (mcp/client_oauth.hpp): the flow that turns a server's refusal
// into new credentials: discovery, the client's identity, refresh, the authorization code
// grant with PKCE (or client_credentials), step-up. The pieces are in client_oauth_*.cpp.
#include "mcp/client_oauth.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>

#include "client_oauth_internal.hpp"
#include "mcp/client_error.hpp"

namespace mcp {

using Kind = ClientError::Kind;

struct OAuthClientAuthorizer::Impl {
  OAuthClientOptions opt;
  std::mutex flow;  // one flow at a time; taken before `mu`

  // Guarded by `mu`: the credentials authorization() reads.
  mutable std::mutex mu;
  std::string access_token;

  // Guarded by `flow`: the state of the flows.
  std::string refresh_token;
  std::string requested_scope;  // what the last authorization asked for
  int step_ups = 0;
  std::optional<oauth::ServerMetadata> server;              // the current authorization server
  std::map<std::string, oauth::ClientIdentity> identities;  // per issuer

  oauth::HttpOptions http() const { return {opt.ca_file, opt.request_timeout}; }

  void store(const oauth::Tokens& t) {
    if (!t.refresh_token.empty()) refresh_token = t.refresh_token;
    std::lock_guard lk(mu);
    access_token = t.access_token;
  }
  void forget_tokens() {
    refresh_token.clear();
    std::lock_guard lk(mu);
    access_token.clear();
  }

  oauth::ClientIdentity identity(const oauth::ServerMetadata& as) {
    if (auto it = identities.find(as.issuer); it != identities.end()) return it->second;
    oauth::RegistrationInput in;
    in.metadata_url = opt.client_id_metadata_url;
    in.client_id = opt.client_id;
    in.client_secret = opt.client_secret;
    in.auth_method = opt.token_endpoint_auth_method;
    in.key_pem = opt.private_key_pem;
    in.key_alg = opt.private_key_alg;
    in.redirect_uri = opt.redirect_uri;
    in.client_name = opt.client_name;
    in.application_type = opt.application_type;
    if (opt.client_credentials) in.metadata_url.clear();
    auto id = oauth::client_identity(as, in, http());
    identities.emplace(as.issuer, id);
    return id;
  }

  bool authorize(const AuthChallenge& ch);
  void authorization_code_grant(const oauth::ServerMetadata& as, const std::string& scope,
                                const std::string& resource);
};

bool OAuthClientAuthorizer::Impl::authorize(const AuthChallenge& ch) {
  std::lock_guard flow_lk(flow);
  {
    // Another flow got new credentials while this request was refused with older ones.
    std::lock_guard lk(mu);
    if (!access_token.empty() && ch.sent_authorization != "Bearer " + access_token) return true;
  }
  if (!opt.access_token.empty()) return false;  // a fixed token: nothing more to try
  auto params = oauth::bearer_params(ch.www_authenticate);
  const bool step_up = ch.status == 403;
  if (step_up) {
    if (params["error"] != "insufficient_scope") return false;
    if (step_ups >= opt.max_step_ups)
      throw ClientError(Kind::kAuthorization, "OAuth: the server at " + ch.server_url +
                                                  " still wants scope '" + params["scope"] +
                                                  "' after " + std::to_string(step_ups) +
                                                  " re-authorizations");
    ++step_ups;
  } else if (ch.status != 401) {
    return false;
  }

  const auto h = http();
  const auto prm = oauth::discover_resource(ch.server_url, params["resource_metadata"], h);
  const std::string& issuer = prm.authorization_servers.front();
  if (!server || server->issuer != issuer) {
    // A first flow, or the resource moved to another authorization server: nothing issued by
    // the previous one is used again.
    server = oauth::discover_server(issuer, h);
    forget_tokens();
  }
  const oauth::ServerMetadata& as = *server;
  // RFC 8707: the resource as the server publishes it (it names the server: checked), so that
  // the token's audience is exactly the server's identifier.
  const std::string resource =
      prm.resource.empty() ? oauth::canonical_resource(ch.server_url) : prm.resource;

  if (!step_up && !refresh_token.empty()) {
    try {
      auto t = oauth::token_request(as, identity(as),
                                    {{"grant_type", "refresh_token"},
                                     {"refresh_token", refresh_token},
                                     {"resource", resource}},
                                    h);
      store(t);
      return true;
    } catch (const ClientError&) {
      refresh_token.clear();  // refused (expired, revoked): a new authorization follows
    }
  }

  std::string scope = opt.scope;
  if (scope.empty()) {
    scope = oauth::select_scope(params["scope"], prm.scopes_supported);
    if (step_up) scope = oauth::scope_union(requested_scope, scope);
    if (!opt.client_credentials && std::find(as.scopes_supported.begin(), as.scopes_supported.end(),
                                             "offline_access") != as.scopes_supported.end())
      scope = oauth::scope_union(scope, "offline_access");
  }
  requested_scope = scope;

  if (opt.client_credentials) {
    if (opt.client_id.empty())
      throw ClientError(Kind::kAuthorization,
                        "OAuth: the client_credentials grant needs a client_id (and a secret or "
                        "a private key)");
    oauth::Params grant{{"grant_type", "client_credentials"}, {"resource", resource}};
    if (!scope.empty()) grant.emplace_back("scope", scope);
    store(oauth::token_request(as, identity(as), std::move(grant), h));
    return true;
  }
  authorization_code_grant(as, scope, resource);
  return true;
}

void OAuthClientAuthorizer::Impl::authorization_code_grant(const oauth::ServerMetadata& as,
                                                           const std::string& scope,
                                                           const std::string& resource) {
  if (std::find(as.code_challenge_methods_supported.begin(),
                as.code_challenge_methods_supported.end(),
                "S256") == as.code_challenge_methods_supported.end())
    throw ClientError(
        Kind::kAuthorization,
        "OAuth: the authorization server " + as.issuer +
            (as.has_code_challenge_methods
                 ? " does not support PKCE S256"
                 : " does not advertise PKCE support (code_challenge_methods_supported)"));
  if (as.authorization_endpoint.empty())
    throw ClientError(Kind::kAuthorization, "OAuth: the authorization server metadata at " +
                                                as.url + " has no authorization_endpoint");
  if (!opt.open_authorization_url)
    throw ClientError(Kind::kAuthorization,
                      "OAuth: the server wants authorization, and no open_authorization_url "
                      "callback was given");
  const auto client = identity(as);
  const auto pkce = oauth::make_pkce();
  const auto state = oauth::make_state();
  oauth::Params q{{"response_type", "code"},
                  {"client_id", client.client_id},
                  {"redirect_uri", opt.redirect_uri},
                  {"code_challenge", pkce.challenge},
                  {"code_challenge_method", "S256"},
                  {"state", state},
                  {"resource", resource}};
  if (!scope.empty()) q.emplace_back("scope", scope);
  const std::string redirect =
      opt.open_authorization_url(oauth::with_query(as.authorization_endpoint, q));
  const std::string code =
      oauth::authorization_code(redirect, state, as.issuer, as.iss_parameter_supported);
  store(oauth::token_request(as, client,
                             {{"grant_type", "authorization_code"},
                              {"code", code},
                              {"redirect_uri", opt.redirect_uri},
                              {"code_verifier", pkce.verifier},
                              {"resource", resource}},
                             http()));
}

OAuthClientAuthorizer::OAuthClientAuthorizer(OAuthClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  impl_->access_token = impl_->opt.access_token;
}

OAuthClientAuthorizer::~OAuthClientAuthorizer() = default;

std::string OAuthClientAuthorizer::authorization() {
  std::lock_guard lk(impl_->mu);
  return impl_->access_token.empty() ? std::string() : "Bearer " + impl_->access_token;
}

bool OAuthClientAuthorizer::authorize(const AuthChallenge& challenge) {
  return impl_->authorize(challenge);
}

}  // namespace mcp
