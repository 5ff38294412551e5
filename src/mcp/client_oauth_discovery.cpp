// Discovery of the OAuth client: the protected resource metadata of the MCP server (RFC 9728)
// and its authorization server's metadata (RFC 8414, OpenID Connect Discovery), the URLs they
// are looked for at, and the checks that bind them to the server and to the issuer.
#include <boost/url/parse.hpp>

#include "client_oauth_internal.hpp"
#include "mcp/client_error.hpp"

namespace mcp::oauth {

namespace {

using Kind = ClientError::Kind;

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

struct Parts {
  std::string origin;  // scheme://host[:port], scheme and host in lower case
  std::string path;    // "" for "/" or none
};

std::optional<Parts> split(const std::string& url) {
  auto r = boost::urls::parse_uri(url);
  if (!r || !r->has_authority()) return std::nullopt;
  Parts p;
  std::string port = r->has_port() ? std::string(r->port()) : std::string();
  const std::string scheme = lower(std::string(r->scheme()));
  if ((scheme == "https" && port == "443") || (scheme == "http" && port == "80")) port.clear();
  p.origin = scheme + "://" + lower(std::string(r->encoded_host())) +
             (port.empty() ? std::string() : ":" + port);
  p.path = std::string(r->encoded_path());
  if (p.path == "/") p.path.clear();
  return p;
}

std::string str(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::vector<std::string> strings(const boost::json::object& o, const char* key, bool* present) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (present) *present = v && v->is_array();
  if (!v || !v->is_array()) return out;
  for (const auto& e : v->get_array())
    if (e.is_string()) out.emplace_back(e.get_string());
  return out;
}

bool is_https_or_http(const std::string& url) {
  return url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0;
}

}  // namespace

std::string canonical_resource(const std::string& server_url) {
  auto p = split(server_url);
  if (!p) return server_url;
  auto r = boost::urls::parse_uri(server_url);
  std::string out = p->origin + p->path;
  if (r && r->has_query()) out += "?" + std::string(r->encoded_query());
  return out;
}

std::vector<std::string> resource_metadata_urls(const std::string& server_url) {
  auto p = split(server_url);
  if (!p) return {};
  std::vector<std::string> out;
  if (!p->path.empty())
    out.push_back(p->origin + "/.well-known/oauth-protected-resource" + p->path);
  out.push_back(p->origin + "/.well-known/oauth-protected-resource");
  return out;
}

std::vector<std::string> authorization_server_metadata_urls(const std::string& issuer) {
  auto p = split(issuer);
  if (!p) return {};
  std::string path = p->path;
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.empty())
    return {p->origin + "/.well-known/oauth-authorization-server",
            p->origin + "/.well-known/openid-configuration"};
  return {p->origin + "/.well-known/oauth-authorization-server" + path,
          p->origin + "/.well-known/openid-configuration" + path,
          p->origin + path + "/.well-known/openid-configuration"};
}

bool resource_matches(const std::string& resource, const std::string& server_url) {
  auto a = split(resource);
  auto b = split(server_url);
  if (!a || !b || a->origin != b->origin) return false;
  std::string rp = a->path;
  while (!rp.empty() && rp.back() == '/') rp.pop_back();
  if (rp.empty()) return true;
  const std::string& sp = b->path;
  return sp == rp ||
         (sp.size() > rp.size() && sp.compare(0, rp.size(), rp) == 0 && sp[rp.size()] == '/');
}

ResourceMetadata parse_resource_metadata(const boost::json::object& o, const std::string& url) {
  ResourceMetadata m;
  m.url = url;
  m.resource = str(o, "resource");
  m.authorization_servers = strings(o, "authorization_servers", nullptr);
  m.scopes_supported = strings(o, "scopes_supported", nullptr);
  if (m.authorization_servers.empty())
    throw ClientError(Kind::kAuthorization, "OAuth: the protected resource metadata at " + url +
                                                " names no authorization server");
  return m;
}

ServerMetadata parse_server_metadata(const boost::json::object& o, const std::string& url,
                                     const std::string& issuer) {
  ServerMetadata m;
  m.url = url;
  m.issuer = str(o, "issuer");
  if (m.issuer != issuer)
    throw ClientError(Kind::kAuthorization, "OAuth: the authorization server metadata at " + url +
                                                " has issuer '" + m.issuer + "', not '" + issuer +
                                                "' (RFC 8414 §3.3)");
  m.authorization_endpoint = str(o, "authorization_endpoint");
  m.token_endpoint = str(o, "token_endpoint");
  m.registration_endpoint = str(o, "registration_endpoint");
  m.scopes_supported = strings(o, "scopes_supported", nullptr);
  m.grant_types_supported = strings(o, "grant_types_supported", nullptr);
  m.token_endpoint_auth_methods_supported =
      strings(o, "token_endpoint_auth_methods_supported", nullptr);
  m.code_challenge_methods_supported =
      strings(o, "code_challenge_methods_supported", &m.has_code_challenge_methods);
  const auto* cimd = o.if_contains("client_id_metadata_document_supported");
  m.client_id_metadata_document_supported = cimd && cimd->is_bool() && cimd->get_bool();
  const auto* iss = o.if_contains("authorization_response_iss_parameter_supported");
  m.iss_parameter_supported = iss && iss->is_bool() && iss->get_bool();
  if (!is_https_or_http(m.token_endpoint))
    throw ClientError(Kind::kAuthorization, "OAuth: the authorization server metadata at " + url +
                                                " has no token_endpoint");
  return m;
}

ResourceMetadata discover_resource(const std::string& server_url, const std::string& hint,
                                   const HttpOptions& http) {
  std::vector<std::string> urls;
  if (!hint.empty()) urls.push_back(hint);
  for (auto& u : resource_metadata_urls(server_url)) urls.push_back(std::move(u));
  std::string tried;
  for (const auto& url : urls) {
    HttpAnswer a =
        http_request("GET", url, {{"Accept", "application/json"}}, "", http.ca_file, http.timeout);
    tried += (tried.empty() ? "" : ", ") + url + " (HTTP " + std::to_string(a.status) + ")";
    if (a.status != 200) continue;
    ResourceMetadata m =
        parse_resource_metadata(json_object(a, "the protected resource metadata at " + url), url);
    if (!resource_matches(m.resource, server_url)) {
      std::string why = "OAuth: the protected resource metadata at " + url;
      why += " is for resource '" + m.resource + "', not for ";
      why += server_url;
      throw ClientError(Kind::kAuthorization, why);
    }
    return m;
  }
  throw ClientError(Kind::kAuthorization,
                    "OAuth: no protected resource metadata for " + server_url + ": tried " + tried);
}

ServerMetadata discover_server(const std::string& issuer, const HttpOptions& http) {
  const auto urls = authorization_server_metadata_urls(issuer);
  if (urls.empty())
    throw ClientError(Kind::kAuthorization,
                      "OAuth: the authorization server '" + issuer + "' is not a URL");
  std::string tried;
  for (const auto& url : urls) {
    HttpAnswer a =
        http_request("GET", url, {{"Accept", "application/json"}}, "", http.ca_file, http.timeout);
    tried += (tried.empty() ? "" : ", ") + url + " (HTTP " + std::to_string(a.status) + ")";
    if (a.status != 200) continue;
    return parse_server_metadata(json_object(a, "the authorization server metadata at " + url), url,
                                 issuer);
  }
  throw ClientError(Kind::kAuthorization,
                    "OAuth: no authorization server metadata for " + issuer + ": tried " + tried);
}

}  // namespace mcp::oauth
