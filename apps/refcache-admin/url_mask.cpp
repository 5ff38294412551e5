#include "url_mask.hpp"

namespace refcache::admin {

namespace {

// The [begin, end) of the password in `url`, or {npos, npos}.
std::pair<std::size_t, std::size_t> password_span(std::string_view url) {
  constexpr auto npos = std::string_view::npos;
  std::size_t scheme = url.find("://");
  if (scheme == npos) return {npos, npos};
  std::size_t start = scheme + 3;
  // The user info ends at the last '@' before the path (a password may hold '@' or '/').
  std::size_t at = url.rfind('@');
  if (at == npos || at < start) return {npos, npos};
  std::size_t colon = url.find(':', start);
  if (colon == npos || colon > at) return {npos, npos};
  return {colon + 1, at};
}

}  // namespace

std::string mask_url(std::string_view url) {
  auto [b, e] = password_span(url);
  if (b == std::string_view::npos || b == e) return std::string(url);
  return std::string(url.substr(0, b)) + "***" + std::string(url.substr(e));
}

namespace {

// `s` with its %XX escapes decoded (as a backend decodes the password of a URL).
std::string percent_decoded(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
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

}  // namespace

void SecretMask::add_url(std::string_view url) {
  auto [b, e] = password_span(url);
  if (b == std::string_view::npos || b == e) return;
  std::string_view raw = url.substr(b, e - b);
  secrets_.emplace_back(raw);
  std::string decoded = percent_decoded(raw);
  if (!decoded.empty() && decoded != raw) secrets_.push_back(std::move(decoded));
}

std::string SecretMask::apply(std::string text) const {
  for (const std::string& s : secrets_) {
    for (std::size_t p = text.find(s); p != std::string::npos; p = text.find(s, p + 3))
      text.replace(p, s.size(), "***");
  }
  return text;
}

}  // namespace refcache::admin
