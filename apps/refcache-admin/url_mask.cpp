#include "url_mask.hpp"

#include <boost/url/pct_string_view.hpp>

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

void SecretMask::add_url(std::string_view url) {
  auto [b, e] = password_span(url);
  if (b == std::string_view::npos || b == e) return;
  std::string_view raw = url.substr(b, e - b);
  secrets_.emplace_back(raw);
  // Decoded as the backends decode it (Boost.URL); a malformed escape makes the URL invalid
  // to them too, so only the raw form can appear.
  const auto escaped = boost::urls::make_pct_string_view(raw);
  if (!escaped) return;
  std::string decoded = escaped->decode();
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
