#include "refcache_mcp/warm_file.hpp"

#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "refcache_mcp/config_file.hpp"

namespace refcache::mcp {

namespace json = boost::json;

namespace {

// Larger than any sensible list of calls; a bigger file is a mistake, not a configuration.
constexpr std::size_t kMaxFileBytes = 4 << 20;

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw InvalidArgument("warm file " + path + ": " + what);
}

}  // namespace

CacheWarmerOptions parse_warm_file(const std::string& text, const std::string& path) {
  json::value doc;
  try {
    doc = jsonio::parse_or_throw(text);
  } catch (const std::exception& e) {
    bad(path, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!doc.is_object()) bad(path, "must be a JSON object with a \"calls\" list");
  const json::object& o = doc.get_object();
  for (const auto& m : o)
    if (m.key() != "calls" && m.key() != "refresh_at")
      bad(path, "unknown member \"" + std::string(m.key()) + "\" (known: calls, refresh_at)");
  CacheWarmerOptions w;
  if (auto it = o.find("refresh_at"); it != o.end()) {
    if (!it->value().is_number()) bad(path, "\"refresh_at\" must be a number");
    w.refresh_at = it->value().to_number<double>();
    if (!(w.refresh_at > 0 && w.refresh_at < 1))
      bad(path, "\"refresh_at\" must be between 0 and 1 (a fraction of the TTL)");
  }
  auto calls = o.find("calls");
  if (calls == o.end() || !calls->value().is_array() || calls->value().get_array().empty())
    bad(path, "\"calls\" must be a non-empty list");
  std::size_t n = 0;
  for (const auto& c : calls->value().get_array()) {
    const std::string at = "calls[" + std::to_string(n++) + "]";
    if (!c.is_object()) bad(path, at + " must be an object");
    const json::object& co = c.get_object();
    WarmCall call;
    for (const auto& m : co) {
      if (m.key() == "tool") {
        if (!m.value().is_string() || m.value().get_string().empty())
          bad(path, at + ".tool must be a tool's name");
        call.tool = std::string(m.value().get_string());
      } else if (m.key() == "arguments") {
        if (!m.value().is_object()) bad(path, at + ".arguments must be an object");
        call.arguments = m.value().get_object();
      } else if (m.key() == "as") {
        if (!m.value().is_object()) bad(path, at + ".as must be an object of identity values");
        for (const auto& v : m.value().get_object()) {
          if (!v.value().is_string())
            bad(path, at + ".as." + std::string(v.key()) + " must be a string");
          call.identity.values[std::string(v.key())] = std::string(v.value().get_string());
        }
      } else {
        bad(path,
            at + ": unknown member \"" + std::string(m.key()) + "\" (known: tool, arguments, as)");
      }
    }
    if (call.tool.empty()) bad(path, at + " names no tool");
    if (call.identity.values.empty()) call.identity.default_actor = Actor::system();
    call.identity.tenant = tenant_of(call.identity.values);
    w.calls.push_back(std::move(call));
  }
  return w;
}

CacheWarmerOptions read_warm_file(const std::string& path) {
  return parse_warm_file(read_config_file("warm file", path, kMaxFileBytes), path);
}

}  // namespace refcache::mcp
