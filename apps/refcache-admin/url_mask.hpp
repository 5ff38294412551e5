// Password masking for every text the CLI prints.
//
// Contract: mask_url() replaces the password of a URL's user info ("scheme://user:pass@...")
// with "***"; SecretMask collects the passwords of the URLs a run was given (as written and
// percent-decoded) and replaces every occurrence of them in a message (a backend's error text
// included), so that no password is printed whatever the message quotes. Thread-safety: mask_url is
// pure; a SecretMask is filled once, then only read.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace refcache::admin {

// The URL with its password (if any) replaced by "***".
std::string mask_url(std::string_view url);

class SecretMask {
 public:
  // Remembers the password of `url` (nothing when it has none).
  void add_url(std::string_view url);
  // `text` with every remembered password replaced by "***".
  std::string apply(std::string text) const;

 private:
  std::vector<std::string> secrets_{};
};

}  // namespace refcache::admin
