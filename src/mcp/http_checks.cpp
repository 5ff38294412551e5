#include "http_checks.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <cstdlib>

#include "crypto.hpp"
#include "jsonio/json_text.hpp"
#include "mcp/server.hpp"

namespace mcp::detail {

namespace http = boost::beast::http;
namespace bj = boost::json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string header(const HttpRequest& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string() : std::string(it->value());
}

bool has_header(const HttpRequest& req, std::string_view name) {
  return req.find(name) != req.end();
}

bool is_loopback_name(std::string_view host) {
  std::string l = lower(host);
  return l == "localhost" || l == "127.0.0.1" || l == "[::1]" || l == "::1";
}

std::string_view host_part(std::string_view hostport) {
  if (!hostport.empty() && hostport.front() == '[') {
    auto e = hostport.find(']');
    return e == std::string_view::npos ? hostport : hostport.substr(0, e + 1);
  }
  auto c = hostport.rfind(':');
  return c == std::string_view::npos ? hostport : hostport.substr(0, c);
}

namespace {

bool in_list(const std::vector<std::string>& list, std::string_view name) {
  const std::string l = lower(name);
  return std::any_of(list.begin(), list.end(), [&](const std::string& a) { return lower(a) == l; });
}

}  // namespace

bool host_allowed(const HttpOptions& opt, const HttpRequest& req) {
  if (!opt.validate_host_origin || opt.allow_any_host) return true;
  std::string host = header(req, "Host");
  if (host.empty()) return false;
  std::string_view h = host_part(host);
  return is_loopback_name(h) || in_list(opt.allowed_hosts, h);
}

bool origin_allowed(const HttpOptions& opt, const HttpRequest& req) {
  if (!opt.validate_host_origin || opt.allow_any_host || !has_header(req, "Origin")) return true;
  std::string origin = header(req, "Origin");
  if (in_list(opt.allowed_origins, origin)) return true;
  auto p = origin.find("://");
  if (p == std::string::npos) return false;
  std::string_view hp = std::string_view(origin).substr(p + 3);
  if (auto slash = hp.find('/'); slash != std::string_view::npos) hp = hp.substr(0, slash);
  std::string_view h = host_part(hp);
  return is_loopback_name(h) || in_list(opt.allowed_hosts, h);
}

void add_cors(const HttpRequest& req, HttpResponse& res) {
  if (!has_header(req, "Origin")) return;
  res.set(http::field::access_control_allow_origin, header(req, "Origin"));
  res.set(http::field::vary, "Origin");
  res.set(http::field::access_control_expose_headers,
          "Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate");
}

std::string cors_header_lines(const HttpRequest& req) {
  if (!has_header(req, "Origin")) return {};
  return "Access-Control-Allow-Origin: " + header(req, "Origin") +
         "\r\nVary: Origin\r\nAccess-Control-Expose-Headers: Mcp-Session-Id, "
         "MCP-Protocol-Version\r\n";
}

void fill_preflight(const HttpRequest& req, HttpResponse& res) {
  res.set(http::field::access_control_allow_methods, "GET, POST, DELETE, OPTIONS");
  std::string allow =
      "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, "
      "Last-Event-ID, Mcp-Method, Mcp-Name";
  if (auto rh = header(req, "Access-Control-Request-Headers"); !rh.empty()) allow += ", " + rh;
  res.set(http::field::access_control_allow_headers, allow);
  res.set(http::field::access_control_max_age, "86400");
}

namespace {

std::string base_url(const HttpOptions& opt, const HttpRequest& req, std::uint16_t bound_port) {
  std::string host = header(req, "Host");
  return "http://" + (host.empty() ? opt.host + ":" + std::to_string(bound_port) : host);
}

}  // namespace

std::string resource_url(const HttpOptions& opt, const HttpRequest& req, std::uint16_t bound_port) {
  return opt.auth && !opt.auth->resource.empty() ? opt.auth->resource
                                                 : base_url(opt, req, bound_port) + opt.path;
}

std::string metadata_url(const HttpOptions& opt, const HttpRequest& req, std::uint16_t bound_port) {
  std::string res = resource_url(opt, req, bound_port);
  auto u = boost::urls::parse_uri(res);
  if (!u)
    return base_url(opt, req, bound_port) + "/.well-known/oauth-protected-resource" + opt.path;
  std::string origin = std::string(u->scheme()) + "://" + std::string(u->encoded_authority());
  std::string path(u->encoded_path());
  if (path == "/") path.clear();
  return origin + "/.well-known/oauth-protected-resource" + path;
}

AuthOutcome authenticate(const HttpOptions& opt, const HttpRequest& req, std::uint16_t bound_port) {
  AuthOutcome out;
  if (!opt.auth || !opt.auth->verify) return out;
  const std::string meta = metadata_url(opt, req, bound_port);
  std::string scope;
  for (const auto& s : opt.auth->required_scopes) scope += (scope.empty() ? "" : " ") + s;
  const std::string authz = header(req, "Authorization");
  std::optional<Principal> p;
  if (authz.size() > 7 && lower(authz.substr(0, 7)) == "bearer ")
    p = opt.auth->verify(trim(std::string_view(authz).substr(7)));
  if (!p) {
    out.denied = true;
    out.status = http::status::unauthorized;
    out.message = "Unauthorized: a valid bearer token is required";
    out.www_authenticate = "Bearer resource_metadata=\"" + meta + "\"";
    if (!scope.empty()) out.www_authenticate += ", scope=\"" + scope + "\"";
    if (!authz.empty()) out.www_authenticate += ", error=\"invalid_token\"";
    return out;
  }
  for (const auto& need : opt.auth->required_scopes)
    if (std::find(p->scopes.begin(), p->scopes.end(), need) == p->scopes.end()) {
      out.denied = true;
      out.status = http::status::forbidden;
      out.message = "Forbidden: insufficient scope";
      out.www_authenticate = "Bearer error=\"insufficient_scope\", scope=\"";
      out.www_authenticate += scope;
      out.www_authenticate += "\", resource_metadata=\"";
      out.www_authenticate += meta;
      out.www_authenticate += '"';
      return out;
    }
  out.principal = std::move(p);
  return out;
}

bool modern_request(const HttpRequest& req, const bj::value& message) {
  std::string v(trim(header(req, "MCP-Protocol-Version")));
  if (!v.empty()) return !is_legacy_version(v);
  return Server::is_modern_message(message);
}

bool accepts_sse(const HttpRequest& req) {
  std::string accept = lower(header(req, "Accept"));
  return accept.empty() || accept.find("text/event-stream") != std::string::npos ||
         accept.find("*/*") != std::string::npos;
}

bool decode_header_value(std::string_view v, std::string& out) {
  v = trim(v);
  constexpr std::string_view pre = "=?base64?", post = "?=";
  if (v.size() >= pre.size() + post.size() && lower(v.substr(0, pre.size())) == pre &&
      v.substr(v.size() - post.size()) == post) {
    return crypto::base64_decode(v.substr(pre.size(), v.size() - pre.size() - post.size()), out);
  }
  out.assign(v);
  return true;
}

std::optional<std::string> routing_header_mismatch(const HttpRequest& req,
                                                   const bj::object& message,
                                                   const std::string& method,
                                                   const Server& server) {
  if (trim(header(req, "MCP-Protocol-Version")).empty())
    return "MCP-Protocol-Version header is required";
  if (!has_header(req, "Mcp-Method")) return "Mcp-Method header is required";
  if (trim(header(req, "Mcp-Method")) != method) return "Mcp-Method does not match the body";
  const bj::object* params = nullptr;
  if (auto* p = message.if_contains("params")) params = p->if_object();
  const char* name_key =
      (method == "tools/call" || method == "prompts/get")                               ? "name"
      : method == "resources/read"                                                      ? "uri"
      : (method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel") ? "taskId"
                                                                                        : nullptr;
  std::string body_name;
  if (name_key) {
    if (params)
      if (auto it = params->find(name_key); it != params->end() && it->value().is_string())
        body_name = std::string(it->value().get_string());
    std::string hname;
    if (!has_header(req, "Mcp-Name")) return "Mcp-Name header is required";
    if (!decode_header_value(header(req, "Mcp-Name"), hname) || hname != body_name)
      return "Mcp-Name does not match the body";
  }
  if (method != "tools/call") return std::nullopt;
  const bj::object* args = nullptr;
  if (params)
    if (auto* a = params->if_contains("arguments")) args = a->if_object();
  for (const auto& [prop, suffix] : server.tool_header_params(body_name)) {
    const bj::value* v = args ? args->if_contains(prop) : nullptr;
    const std::string hname = "Mcp-Param-" + suffix;
    const bool present = has_header(req, hname);
    if (!v || v->is_null()) {
      if (present) return hname + " given but the argument is absent";
      continue;
    }
    if (!present) return hname + " header is required";
    std::string decoded;
    const std::string expected =
        v->is_string() ? std::string(v->get_string()) : jsonio::to_string(*v);
    if (!decode_header_value(header(req, hname), decoded) || decoded != expected)
      return hname + " does not match the body";
  }
  return std::nullopt;
}

bool parse_last_event_id(std::string_view value, std::string& stream_id, std::uint64_t& after) {
  auto dash = value.rfind('-');
  if (dash == std::string_view::npos) return false;
  stream_id.assign(value.substr(0, dash));
  const std::string seq(value.substr(dash + 1));
  after = std::strtoull(seq.c_str(), nullptr, 10);
  return true;
}

std::string session_id_from_query(std::string_view query) {
  std::string sid;
  for (std::string_view rest = query; !rest.empty();) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    if (kv.substr(0, 10) == "sessionId=") sid = std::string(kv.substr(10));
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  return sid;
}

}  // namespace mcp::detail
