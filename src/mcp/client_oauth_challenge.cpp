// The server's WWW-Authenticate challenges (RFC 9110 §11.6.1, RFC 6750 §3) and the scope the
// client asks for (the MCP authorization specification's scope selection strategy).
#include <algorithm>
#include <sstream>

#include "client_oauth_internal.hpp"

namespace mcp::oauth {

namespace {

bool is_tchar(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token68_char(char c) {
  return is_tchar(c) || c == '/';
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  void skip_ows() {
    while (!done() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  std::string token() {
    const std::size_t b = i;
    while (!done() && is_tchar(s[i])) ++i;
    return std::string(s.substr(b, i - b));
  }
  // A quoted-string at '"', its escapes resolved; false when it does not end.
  bool quoted(std::string& out) {
    ++i;
    while (!done()) {
      const char c = s[i++];
      if (c == '"') return true;
      if (c == '\\' && !done()) {
        out.push_back(s[i++]);
        continue;
      }
      out.push_back(c);
    }
    return false;
  }
  // Whether an auth-param (token OWS "=") starts here; token68 ("x==") is not one.
  bool param_ahead() const {
    std::size_t j = i;
    while (j < s.size() && is_tchar(s[j])) ++j;
    if (j == i) return false;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
    if (j >= s.size() || s[j] != '=') return false;
    ++j;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
    return j < s.size() && s[j] != '=' && s[j] != ',';
  }
};

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view value) {
  std::vector<Challenge> out;
  Cursor c{value};
  while (!c.done()) {
    while (!c.done() && (c.peek() == ',' || c.peek() == ' ' || c.peek() == '\t')) ++c.i;
    if (c.done()) break;
    Challenge ch;
    ch.scheme = c.token();
    if (ch.scheme.empty()) {
      ++c.i;  // not a token: skip the character
      continue;
    }
    c.skip_ows();
    if (!c.done() && c.peek() != ',' && !c.param_ahead()) {
      // token68: kept as the parameter "" (Basic's credentials, for instance).
      const std::size_t b = c.i;
      while (!c.done() && is_token68_char(c.peek())) ++c.i;
      while (!c.done() && c.peek() == '=') ++c.i;
      ch.params[""] = std::string(value.substr(b, c.i - b));
      c.skip_ows();
    }
    while (!c.done()) {
      c.skip_ows();
      if (c.peek() == ',') {
        // A list separator: a parameter of this challenge follows, or the next challenge.
        std::size_t save = c.i;
        ++c.i;
        c.skip_ows();
        if (!c.param_ahead()) {
          c.i = save;
          break;
        }
      }
      if (!c.param_ahead()) break;
      std::string name = lower(c.token());
      c.skip_ows();
      ++c.i;  // '='
      c.skip_ows();
      std::string v;
      if (c.peek() == '"') {
        if (!c.quoted(v)) break;
      } else {
        v = c.token();
      }
      ch.params.emplace(std::move(name), std::move(v));
    }
    out.push_back(std::move(ch));
  }
  return out;
}

std::map<std::string, std::string> bearer_params(std::string_view www_authenticate) {
  for (auto& ch : parse_www_authenticate(www_authenticate))
    if (lower(ch.scheme) == "bearer") return std::move(ch.params);
  return {};
}

std::string select_scope(const std::string& challenge_scope,
                         const std::vector<std::string>& resource_scopes_supported) {
  if (!challenge_scope.empty()) return challenge_scope;
  std::string out;
  for (const auto& s : resource_scopes_supported) out = scope_union(out, s);
  return out;
}

std::string scope_union(const std::string& a, const std::string& b) {
  std::vector<std::string> all;
  for (const std::string* s : {&a, &b}) {
    std::istringstream in(*s);
    for (std::string one; in >> one;)
      if (std::find(all.begin(), all.end(), one) == all.end()) all.push_back(one);
  }
  std::string out;
  for (const auto& one : all) out += (out.empty() ? "" : " ") + one;
  return out;
}

bool scope_contains(const std::string& scope, const std::string& one) {
  std::istringstream in(scope);
  for (std::string s; in >> s;)
    if (s == one) return true;
  return false;
}

}  // namespace mcp::oauth
