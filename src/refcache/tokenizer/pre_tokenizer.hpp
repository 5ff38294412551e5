// Pre-tokenization: the split patterns of cl100k_base and o200k_base, each a hand-written
// scanner that returns the same pieces as the pattern does under JavaScript's regular
// expressions (js-tiktoken's RegExp(pat_str, "ug") and matchAll), backtracking included.
// std::regex has no Unicode classes, hence the scanners. Stateless; safe from any thread.
//
// cl100k_base:  '(s|t|re|ve|m|ll|d) (ASCII, either case) | [^\r\n\p{L}\p{N}]?\p{L}+ |
//               \p{N}{1,3} | ' '?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
// o200k_base:   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+C? |
//               [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*C? |
//               \p{N}{1,3} | ' '?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+
//               where C is the contraction alternative of cl100k_base.
// Text is UTF-8; a byte that does not start a valid sequence is one character of no class.
#pragma once

#include <cstddef>
#include <string_view>

#include "refcache/tokenizer/unicode_classes.hpp"

namespace refcache::tokenizer {

enum class SplitPattern { kCl100k, kO200k };

class PreTokenizer {
 public:
  PreTokenizer(SplitPattern pattern, const UnicodeClasses& classes)
      : pattern_(pattern), classes_(&classes) {}

  // End (byte offset) of the piece that starts at `pos`. REQUIRES: pos < text.size().
  // The result is > pos; pieces returned from 0 onwards tile the text.
  std::size_t next(std::string_view text, std::size_t pos) const;

 private:
  SplitPattern pattern_;
  const UnicodeClasses* classes_;
};

}  // namespace refcache::tokenizer
