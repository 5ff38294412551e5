#include "gateway_config.hpp"

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "oauth_browser_step.hpp"

namespace gateway {
namespace json = boost::json;

namespace {

// JSON Pointer escaping of one reference token (RFC 6901).
std::string escape_token(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& pointer, const std::string& what) const {
    throw ConfigError(path_ + ": " + (pointer.empty() ? std::string("/") : pointer) + ": " + what);
  }

  const json::object& object(const json::value& v, const std::string& ptr) const {
    if (!v.is_object()) fail(ptr, "must be an object");
    return v.get_object();
  }

  std::string string(const json::value& v, const std::string& ptr) const {
    if (!v.is_string()) fail(ptr, "must be a string");
    return expand(std::string(v.get_string()), ptr);
  }

  std::vector<std::string> strings(const json::value& v, const std::string& ptr) const {
    if (!v.is_array()) fail(ptr, "must be an array of strings");
    std::vector<std::string> out;
    const auto& a = v.get_array();
    for (std::size_t i = 0; i < a.size(); ++i)
      out.push_back(string(a[i], ptr + "/" + std::to_string(i)));
    return out;
  }

  std::map<std::string, std::string> string_map(const json::value& v,
                                                const std::string& ptr) const {
    std::map<std::string, std::string> out;
    for (const auto& kv : object(v, ptr))
      out[std::string(kv.key())] = string(kv.value(), ptr + "/" + escape_token(kv.key()));
    return out;
  }

  std::size_t size(const json::value& v, const std::string& ptr) const {
    if (v.is_int64() && v.get_int64() >= 1 && v.get_int64() <= 100000000)
      return static_cast<std::size_t>(v.get_int64());
    if (v.is_uint64() && v.get_uint64() >= 1 && v.get_uint64() <= 100000000)
      return static_cast<std::size_t>(v.get_uint64());
    fail(ptr, "must be an integer from 1 to 100000000");
  }

  // A TTL in whole seconds: 0 (off) to 30 days.
  std::chrono::seconds seconds(const json::value& v, const std::string& ptr) const {
    constexpr std::int64_t kMax = std::int64_t{30} * 24 * 3600;
    if (v.is_int64() && v.get_int64() >= 0 && v.get_int64() <= kMax)
      return std::chrono::seconds(v.get_int64());
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(kMax))
      return std::chrono::seconds(static_cast<std::int64_t>(v.get_uint64()));
    fail(ptr, "must be a whole number of seconds from 0 to 2592000 (30 days)");
  }

  // `media`: "ref" (true) or "pass" (false).
  bool media(const json::value& v, const std::string& ptr) const {
    if (v == "ref") return true;
    if (v == "pass") return false;
    fail(ptr, "must be \"ref\" or \"pass\"");
  }

  bool boolean(const json::value& v, const std::string& ptr) const {
    if (!v.is_bool()) fail(ptr, "must be true or false");
    return v.get_bool();
  }

  // Every member of `o` must be one of `known` (the gateway's own settings: a misspelt one
  // would otherwise be ignored without a word).
  void only(const json::object& o, const std::string& ptr,
            const std::set<std::string, std::less<>>& known) const {
    for (const auto& kv : o)
      if (!known.contains(kv.key())) {
        std::string names;
        for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
        fail(ptr + "/" + escape_token(kv.key()), "unknown setting (known: " + names + ")");
      }
  }

  // ${VAR} and ${VAR:-default}, from the environment; an unset VAR without a default is an
  // error naming it (a client would fail the same way, later and less clearly). ${env:VAR},
  // the spelling of Cursor's and VS Code's files, is read as ${VAR}, so their files work
  // unchanged.
  std::string expand(const std::string& s, const std::string& ptr) const {
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
      if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
        std::size_t end = s.find('}', i + 2);
        if (end == std::string::npos) fail(ptr, "unterminated ${ in \"" + s + "\"");
        std::string body = s.substr(i + 2, end - i - 2);
        std::optional<std::string> dflt;
        if (auto d = body.find(":-"); d != std::string::npos) {
          dflt = body.substr(d + 2);
          body.resize(d);
        }
        if (body.starts_with("env:")) body.erase(0, 4);
        const char* v = std::getenv(body.c_str());
        if (v != nullptr && *v != '\0')
          out += v;
        else if (dflt)
          out += *dflt;
        else {
          std::string what = "environment variable " + body;
          what += " is not set (write ${" + body;
          what += ":-default} for a default)";
          fail(ptr, what);
        }
        i = end + 1;
      } else {
        out += s[i++];
      }
    }
    return out;
  }

 private:
  std::string path_;
};

ToolSettings read_tool(const Reader& r, const json::value& v, const std::string& ptr) {
  const auto& o = r.object(v, ptr);
  r.only(o, ptr, {"threshold", "preview_size", "hidden", "accept_refs", "cache_ttl", "media"});
  ToolSettings t;
  if (auto* x = o.if_contains("threshold")) t.threshold = r.size(*x, ptr + "/threshold");
  if (auto* x = o.if_contains("preview_size")) t.preview_size = r.size(*x, ptr + "/preview_size");
  if (auto* x = o.if_contains("hidden")) t.hidden = r.boolean(*x, ptr + "/hidden");
  if (auto* x = o.if_contains("accept_refs")) t.accept_refs = r.boolean(*x, ptr + "/accept_refs");
  if (auto* x = o.if_contains("cache_ttl")) t.cache_ttl = r.seconds(*x, ptr + "/cache_ttl");
  if (auto* x = o.if_contains("media")) t.media_by_ref = r.media(*x, ptr + "/media");
  return t;
}

OAuthSettings read_oauth(const Reader& r, const json::value& v, const std::string& ptr) {
  OAuthSettings o;
  if (v.is_bool()) {
    o.enabled = v.get_bool();
    return o;
  }
  const auto& m = r.object(v, ptr);
  r.only(m, ptr,
         {"access_token", "client_id", "client_secret", "client_credentials",
          "token_endpoint_auth_method", "private_key_file", "private_key_alg",
          "client_id_metadata_url", "scope", "redirect_uri", "ca_file", "authorization_timeout"});
  auto text = [&](const char* key, std::string& out) {
    if (const auto* x = m.if_contains(key)) out = r.string(*x, ptr + "/" + key);
  };
  text("access_token", o.access_token);
  text("client_id", o.client_id);
  text("client_secret", o.client_secret);
  text("token_endpoint_auth_method", o.token_endpoint_auth_method);
  text("private_key_file", o.private_key_file);
  text("private_key_alg", o.private_key_alg);
  text("client_id_metadata_url", o.client_id_metadata_url);
  text("scope", o.scope);
  text("redirect_uri", o.redirect_uri);
  text("ca_file", o.ca_file);
  if (const auto* x = m.if_contains("client_credentials"))
    o.client_credentials = r.boolean(*x, ptr + "/client_credentials");
  if (const auto* x = m.if_contains("authorization_timeout")) {
    o.authorization_timeout = r.seconds(*x, ptr + "/authorization_timeout");
    if (o.authorization_timeout.count() == 0)
      r.fail(ptr + "/authorization_timeout", "must be at least 1 second");
  }
  if (o.client_credentials && o.client_id.empty())
    r.fail(ptr + "/client_credentials", "needs a client_id (and its secret or private key)");
  if (!o.redirect_uri.empty())
    if (std::string why = redirect_uri_problem(o.redirect_uri); !why.empty())
      r.fail(ptr + "/redirect_uri", why);
  return o;
}

void read_gateway_settings(const Reader& r, const json::value& v, const std::string& ptr,
                           UpstreamConfig& u) {
  const auto& o = r.object(v, ptr);
  r.only(o, ptr,
         {"prefix", "threshold", "preview_size", "hide_tools", "accept_refs", "tools",
          "cache_read_only_ttl", "media", "oauth"});
  if (auto* x = o.if_contains("prefix")) {
    u.prefix = r.string(*x, ptr + "/prefix");
    for (char c : *u.prefix)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
        r.fail(ptr + "/prefix", "may hold only letters, digits, '_', '-' and '.'");
    if (u.prefix->empty()) r.fail(ptr + "/prefix", "must not be empty");
  }
  if (auto* x = o.if_contains("threshold")) u.threshold = r.size(*x, ptr + "/threshold");
  if (auto* x = o.if_contains("preview_size")) u.preview_size = r.size(*x, ptr + "/preview_size");
  if (auto* x = o.if_contains("hide_tools")) u.hide_tools = r.strings(*x, ptr + "/hide_tools");
  if (auto* x = o.if_contains("accept_refs")) u.accept_refs = r.boolean(*x, ptr + "/accept_refs");
  if (auto* x = o.if_contains("cache_read_only_ttl"))
    u.cache_read_only_ttl = r.seconds(*x, ptr + "/cache_read_only_ttl");
  if (auto* x = o.if_contains("media")) u.media_by_ref = r.media(*x, ptr + "/media");
  if (auto* x = o.if_contains("oauth")) {
    if (u.kind == UpstreamKind::kStdio) r.fail(ptr + "/oauth", "applies to HTTP servers only");
    u.oauth = read_oauth(r, *x, ptr + "/oauth");
  }
  if (auto* x = o.if_contains("tools"))
    for (const auto& kv : r.object(*x, ptr + "/tools"))
      u.tools[std::string(kv.key())] =
          read_tool(r, kv.value(), ptr + "/tools/" + escape_token(kv.key()));
}

UpstreamConfig read_upstream(const Reader& r, std::string name, const json::value& v,
                             const std::string& ptr) {
  const auto& o = r.object(v, ptr);
  UpstreamConfig u;
  u.name = std::move(name);
  std::string type;
  if (auto* x = o.if_contains("type")) type = r.string(*x, ptr + "/type");
  const bool has_command = o.contains("command");
  const bool has_url = o.contains("url");
  if (type.empty()) {
    if (has_command && has_url)
      r.fail(ptr, "has both \"command\" and \"url\": give one, or a \"type\"");
    if (!has_command && !has_url)
      r.fail(ptr, "needs \"command\" (a stdio server) or \"url\" (an HTTP server)");
    type = has_command ? "stdio" : "http";
  }
  if (type == "stdio") {
    u.kind = UpstreamKind::kStdio;
    if (!has_command) r.fail(ptr, "a stdio server needs \"command\"");
    u.command = r.string(o.at("command"), ptr + "/command");
    if (u.command.empty()) r.fail(ptr + "/command", "must not be empty");
    if (auto* x = o.if_contains("args")) u.args = r.strings(*x, ptr + "/args");
    if (auto* x = o.if_contains("env")) u.env = r.string_map(*x, ptr + "/env");
    if (auto* x = o.if_contains("cwd")) u.cwd = r.string(*x, ptr + "/cwd");
  } else if (type == "http" || type == "streamable-http" || type == "streamableHttp" ||
             type == "sse") {
    u.kind = type == "sse" ? UpstreamKind::kLegacySse : UpstreamKind::kStreamableHttp;
    if (!has_url) r.fail(ptr, "an HTTP server needs \"url\"");
    u.url = r.string(o.at("url"), ptr + "/url");
    if (u.url.rfind("http://", 0) != 0 && u.url.rfind("https://", 0) != 0)
      r.fail(ptr + "/url", "must start with http:// or https://");
    if (auto* x = o.if_contains("headers")) u.headers = r.string_map(*x, ptr + "/headers");
  } else {
    r.fail(ptr + "/type",
           "must be \"stdio\", \"http\", \"streamable-http\" or \"sse\", not \"" + type + "\"");
  }
  if (auto* x = o.if_contains("refcache")) read_gateway_settings(r, *x, ptr + "/refcache", u);
  return u;
}

// The text's JSON, or a ConfigError with the line and column where it stops being JSON.
json::value parse_text(const std::string& text, const std::string& path) {
  json::stream_parser p;
  boost::system::error_code ec;
  std::size_t n = p.write(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    std::size_t line = 1;
    std::size_t col = 1;
    for (std::size_t i = 0; i < n && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    throw ConfigError(path + ": line " + std::to_string(line) + ", column " + std::to_string(col) +
                      ": not valid JSON (" + ec.message() + ")");
  }
  return p.release();
}

}  // namespace

EffectiveSettings GatewayConfig::settings_for(const UpstreamConfig& u, const std::string& tool,
                                              std::size_t cache_preview_size) const {
  EffectiveSettings s;
  s.threshold = u.threshold.value_or(threshold);
  s.preview_size = u.preview_size.value_or(preview_size.value_or(cache_preview_size));
  s.accept_refs = u.accept_refs;
  s.cache_read_only_ttl = u.cache_read_only_ttl.value_or(cache_read_only_ttl);
  s.media_by_ref = u.media_by_ref.value_or(media_by_ref);
  s.hidden = std::find(u.hide_tools.begin(), u.hide_tools.end(), tool) != u.hide_tools.end();
  if (auto it = u.tools.find(tool); it != u.tools.end()) {
    const ToolSettings& t = it->second;
    if (t.threshold) s.threshold = *t.threshold;
    if (t.preview_size) s.preview_size = *t.preview_size;
    if (t.hidden) s.hidden = *t.hidden;
    if (t.accept_refs) s.accept_refs = *t.accept_refs;
    s.cache_ttl = t.cache_ttl;
    if (t.media_by_ref) s.media_by_ref = *t.media_by_ref;
  }
  return s;
}

GatewayConfig parse_config(const std::string& text, const std::string& path) {
  Reader r(path);
  json::value root = parse_text(text, path);
  const auto& o = r.object(root, "");
  GatewayConfig c;
  c.path = path;
  if (auto* x = o.if_contains("refcache")) {
    const auto& g = r.object(*x, "/refcache");
    r.only(g, "/refcache",
           {"threshold", "preview_size", "cache_read_only_ttl", "media", "max_result_mb"});
    if (auto* t = g.if_contains("threshold")) c.threshold = r.size(*t, "/refcache/threshold");
    if (auto* t = g.if_contains("preview_size"))
      c.preview_size = r.size(*t, "/refcache/preview_size");
    if (auto* t = g.if_contains("cache_read_only_ttl"))
      c.cache_read_only_ttl = r.seconds(*t, "/refcache/cache_read_only_ttl");
    if (auto* t = g.if_contains("media")) c.media_by_ref = r.media(*t, "/refcache/media");
    if (auto* t = g.if_contains("max_result_mb")) {
      c.max_result_mb = r.size(*t, "/refcache/max_result_mb");
      if (c.max_result_mb > kMaxResultMb)
        r.fail("/refcache/max_result_mb",
               "must be at most " + std::to_string(kMaxResultMb) + " (MiB)");
    }
  }
  const char* key = o.contains("mcpServers") ? "mcpServers" : "servers";
  const json::value* servers = o.if_contains(key);
  if (servers == nullptr)
    r.fail("", "no \"mcpServers\" object (the format of claude_desktop_config.json and .mcp.json)");
  const std::string base = std::string("/") + key;
  const auto& so = r.object(*servers, base);
  if (so.empty()) r.fail(base, "names no server");
  for (const auto& kv : so) {
    const std::string ptr = base + "/" + escape_token(kv.key());
    if (kv.key().empty()) r.fail(ptr, "a server needs a non-empty name");
    // Clients that keep switched-off servers in the file mark them so (Cline, Roo Code).
    const json::object* entry = kv.value().if_object();
    if (const json::value* off = entry ? entry->if_contains("disabled") : nullptr;
        off != nullptr && *off == true)
      continue;
    c.upstreams.push_back(read_upstream(r, std::string(kv.key()), kv.value(), ptr));
  }
  if (c.upstreams.empty()) r.fail(base, "every server in it is disabled");
  return c;
}

GatewayConfig load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot be read");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace gateway
