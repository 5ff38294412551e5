#include "client_http_url.hpp"

#include <boost/url/parse.hpp>

#include "mcp/client_error.hpp"

namespace mcp::http_client {

using Kind = ClientError::Kind;

Url parse_url(const std::string& s) {
  auto bad = [&](const std::string& why) {
    return ClientError(Kind::kTransportClosed, "HTTP transport: bad URL '" + s + "': " + why);
  };
  auto r = boost::urls::parse_uri(s);
  if (!r) throw bad(r.error().message());
  const auto& u = *r;
  if (u.scheme() != "http" && u.scheme() != "https") throw bad("the scheme must be http or https");
  Url out;
  out.text = s;
  out.tls = u.scheme() == "https";
  out.host = std::string(u.encoded_host());
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty()) throw bad("no host");
  const std::string default_port = out.tls ? "443" : "80";
  out.port = u.has_port() ? std::string(u.port()) : default_port;
  if (out.port.empty()) out.port = default_port;
  out.host_header = std::string(u.encoded_host_and_port());
  out.target = std::string(u.encoded_path());
  if (out.target.empty()) out.target = "/";
  if (u.has_query()) out.target += "?" + std::string(u.encoded_query());
  return out;
}

std::string lower(std::string_view v) {
  std::string s(v);
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::optional<std::string> endpoint_target(const Url& base, std::string_view ep) {
  if (ep.rfind("http://", 0) == 0 || ep.rfind("https://", 0) == 0) {
    auto r = boost::urls::parse_uri(ep);
    if (!r || r->scheme() != "http" || std::string(r->encoded_host_and_port()) != base.host_header)
      return std::nullopt;
    std::string t(r->encoded_path());
    if (t.empty()) t = "/";
    if (r->has_query()) t += "?" + std::string(r->encoded_query());
    return t;
  }
  if (!ep.empty() && ep.front() == '/') return std::string(ep);
  std::string dir = base.target.substr(0, base.target.find('?'));
  dir = dir.substr(0, dir.rfind('/') + 1);
  return dir + std::string(ep);
}

std::string query_param(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  for (std::string_view rest = target.substr(q + 1); !rest.empty();) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    if (kv.size() > name.size() && kv.substr(0, name.size()) == name && kv[name.size()] == '=')
      return std::string(kv.substr(name.size() + 1));
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  return {};
}

}  // namespace mcp::http_client
