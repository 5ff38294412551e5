#include "refcache/tokenizer/pre_tokenizer.hpp"

#include <cstdint>

namespace refcache::tokenizer {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);
constexpr char32_t kInvalid = 0xFFFFFFFF;

// One character: code point, class bits and byte length.
struct Char {
  char32_t cp = kInvalid;
  std::uint8_t bits = 0;
  std::uint8_t len = 1;
};

// A scan over one text. Every position handed to at() is the start of a character.
class Scan {
 public:
  Scan(std::string_view text, const UnicodeClasses& classes)
      : p_(reinterpret_cast<const unsigned char*>(text.data())), n_(text.size()), u_(&classes) {}

  std::size_t size() const { return n_; }

  // The character at `i`. REQUIRES: i < size().
  Char at(std::size_t i) const {
    const unsigned char b0 = p_[i];
    if (b0 < 0x80) return {b0, u_->of(b0), 1};
    char32_t cp = 0;
    std::uint8_t len = 0;
    char32_t min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      cp = b0 & 0x1F;
      len = 2;
      min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      cp = b0 & 0x0F;
      len = 3;
      min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      cp = b0 & 0x07;
      len = 4;
      min = 0x10000;
    } else {
      return {};
    }
    if (i + len > n_) return {};
    for (std::uint8_t k = 1; k < len; ++k) {
      const unsigned char b = p_[i + k];
      if ((b & 0xC0) != 0x80) return {};
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {};
    return {cp, u_->of(cp), len};
  }

  // End of the run of characters from `i` whose bits intersect `mask`.
  std::size_t run(std::size_t i, std::uint8_t mask) const {
    while (i < n_) {
      const Char c = at(i);
      if (!(c.bits & mask)) break;
      i += c.len;
    }
    return i;
  }

  // Length of the contraction ('s 't 're 've 'm 'll 'd, ASCII letters in either case) at
  // `i`, or 0.
  std::size_t contraction(std::size_t i) const {
    if (i + 1 >= n_ || p_[i] != '\'') return 0;
    const unsigned char a = p_[i + 1] | 0x20;  // ASCII lower case (only letters are compared)
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (i + 2 >= n_) return 0;
    const unsigned char b = p_[i + 2] | 0x20;
    if ((a == 'r' || a == 'v') && b == 'e') return 3;
    if (a == 'l' && b == 'l') return 3;
    return 0;
  }

 private:
  const unsigned char* p_;
  std::size_t n_;
  const UnicodeClasses* u_;
};

// [^\r\n\p{L}\p{N}]
bool is_prefix(const Char& c) {
  return c.cp != '\r' && c.cp != '\n' && !(c.bits & (kLetter | kNumber));
}
// [^\s\p{L}\p{N}]
bool is_symbol(const Char& c) {
  return !(c.bits & (kSpace | kLetter | kNumber));
}
bool is_newline(const Char& c) {
  return c.cp == '\r' || c.cp == '\n';
}

// \p{N}{1,3}. REQUIRES: the character at i is a number.
std::size_t numbers(const Scan& s, std::size_t i) {
  for (int k = 0; k < 3 && i < s.size(); ++k) {
    const Char c = s.at(i);
    if (!(c.bits & kNumber)) break;
    i += c.len;
  }
  return i;
}

// ' '?[^\s\p{L}\p{N}]+ followed by a run of \r, \n (and '/' for o200k_base), or kNone.
std::size_t symbols(const Scan& s, std::size_t i, const Char& c, bool slash) {
  std::size_t j = kNone;
  if (is_symbol(c)) {
    j = i;
  } else if (c.cp == ' ' && i + 1 < s.size() && is_symbol(s.at(i + 1))) {
    j = i + 1;
  }
  if (j == kNone) return kNone;
  while (j < s.size()) {
    const Char d = s.at(j);
    if (!is_symbol(d)) break;
    j += d.len;
  }
  while (j < s.size()) {
    const Char d = s.at(j);
    if (!is_newline(d) && !(slash && d.cp == '/')) break;
    j += d.len;
  }
  return j;
}

// \s*[\r\n]+ | \s+(?!\S) | \s+ . REQUIRES: the character at i is a space.
std::size_t spaces(const Scan& s, std::size_t i) {
  std::size_t j = i, last_start = i, after_newline = kNone;
  while (j < s.size()) {
    const Char c = s.at(j);
    if (!(c.bits & kSpace)) break;
    last_start = j;
    j += c.len;
    if (is_newline(c)) after_newline = j;
  }
  // \s*[\r\n]+: backtracking ends the match after the run's last line break.
  if (after_newline != kNone) return after_newline;
  // \s+(?!\S): the whole run at the end of the text, else all but its last character.
  if (j == s.size()) return j;
  if (last_start > i) return last_start;
  return j;  // \s+
}

// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ from i, or kNone. When the greedy
// first run is not followed by a lower-ish character, the regex backtracks to the last
// character of that run that is lower-ish too (Lm, Lo, M) and ends after it.
std::size_t upper_then_lower(const Scan& s, std::size_t i) {
  std::size_t j = i, after_lowerish = kNone;
  while (j < s.size()) {
    const Char c = s.at(j);
    if (!(c.bits & kUpperish)) break;
    j += c.len;
    if (c.bits & kLowerish) after_lowerish = j;
  }
  if (j < s.size()) {
    const Char c = s.at(j);
    if (c.bits & kLowerish) return s.run(j + c.len, kLowerish);
  }
  return after_lowerish;
}

std::size_t cl100k(const Scan& s, std::size_t i) {
  const Char c = s.at(i);
  if (c.cp == '\'') {
    if (const std::size_t k = s.contraction(i)) return i + k;
  }
  if (c.bits & kLetter) return s.run(i + c.len, kLetter);
  if (is_prefix(c) && i + c.len < s.size()) {
    const Char d = s.at(i + c.len);
    if (d.bits & kLetter) return s.run(i + c.len + d.len, kLetter);
  }
  if (c.bits & kNumber) return numbers(s, i);
  if (const std::size_t j = symbols(s, i, c, false); j != kNone) return j;
  if (c.bits & kSpace) return spaces(s, i);
  return i + c.len;  // unreachable: every character is a letter, number, space or symbol
}

std::size_t with_contraction(const Scan& s, std::size_t j) {
  return j + s.contraction(j);
}

std::size_t o200k(const Scan& s, std::size_t i) {
  const Char c = s.at(i);
  const bool prefix = is_prefix(c) && i + c.len < s.size();
  // First alternative: with the optional prefix, then without it.
  if (prefix) {
    if (const std::size_t j = upper_then_lower(s, i + c.len); j != kNone)
      return with_contraction(s, j);
  }
  if (c.bits & (kUpperish | kLowerish)) {
    if (const std::size_t j = upper_then_lower(s, i); j != kNone) return with_contraction(s, j);
  }
  // Second alternative: [...]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*C?
  if (prefix) {
    const Char d = s.at(i + c.len);
    if (d.bits & kUpperish) {
      const std::size_t j = s.run(i + c.len + d.len, kUpperish);
      return with_contraction(s, s.run(j, kLowerish));
    }
  }
  if (c.bits & kUpperish) {
    const std::size_t j = s.run(i + c.len, kUpperish);
    return with_contraction(s, s.run(j, kLowerish));
  }
  if (c.bits & kNumber) return numbers(s, i);
  if (const std::size_t j = symbols(s, i, c, true); j != kNone) return j;
  if (c.bits & kSpace) return spaces(s, i);
  return i + c.len;  // unreachable, as for cl100k_base
}

}  // namespace

std::size_t PreTokenizer::next(std::string_view text, std::size_t pos) const {
  const Scan s(text, *classes_);
  return pattern_ == SplitPattern::kO200k ? o200k(s, pos) : cl100k(s, pos);
}

}  // namespace refcache::tokenizer
