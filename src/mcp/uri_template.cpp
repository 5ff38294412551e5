#include "uri_template.hpp"

#include <vector>

namespace mcp {

namespace {

struct Part {
  bool is_var;
  bool reserved;     // {+var} / {#var}: may contain '/'
  std::string text;  // literal text or variable name
};

std::string percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool match_from(const std::vector<Part>& parts, std::size_t pi, std::string_view uri,
                std::map<std::string, std::string>& vars) {
  if (pi == parts.size()) return uri.empty();
  const Part& p = parts[pi];
  if (!p.is_var) {
    if (uri.substr(0, p.text.size()) != p.text) return false;
    return match_from(parts, pi + 1, uri.substr(p.text.size()), vars);
  }
  // Variable: try every non-empty prefix, shortest first (so the next literal anchors it).
  for (std::size_t n = 1; n <= uri.size(); ++n) {
    char c = uri[n - 1];
    if (!p.reserved && (c == '/' || c == '?' || c == '#')) break;
    vars[p.text] = percent_decode(uri.substr(0, n));
    if (match_from(parts, pi + 1, uri.substr(n), vars)) return true;
  }
  vars.erase(p.text);
  return false;
}

}  // namespace

std::optional<std::map<std::string, std::string>> match_uri_template(std::string_view tmpl,
                                                                     std::string_view uri) {
  std::vector<Part> parts;
  std::size_t i = 0;
  while (i < tmpl.size()) {
    std::size_t open = tmpl.find('{', i);
    if (open == std::string_view::npos) {
      parts.push_back({false, false, std::string(tmpl.substr(i))});
      break;
    }
    if (open > i) parts.push_back({false, false, std::string(tmpl.substr(i, open - i))});
    std::size_t close = tmpl.find('}', open);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view name = tmpl.substr(open + 1, close - open - 1);
    bool reserved = false;
    if (!name.empty() && (name[0] == '+' || name[0] == '#')) {
      reserved = true;
      name.remove_prefix(1);
    }
    parts.push_back({true, reserved, std::string(name)});
    i = close + 1;
  }
  std::map<std::string, std::string> vars;
  if (!match_from(parts, 0, uri, vars)) return std::nullopt;
  return vars;
}

}  // namespace mcp
