// Exact token counting for OpenAI's BPE encodings o200k_base (GPT-4o, o-series) and
// cl100k_base (GPT-4, GPT-3.5): the same token ids as tiktoken's encode_ordinary and
// js-tiktoken's encode(text, [], []), checked against js-tiktoken 1.0.21 on a mixed corpus
// (tests/integration/tokenizer_agreement_test.cpp). Special tokens such as <|endoftext|> are
// ordinary text here. The vocabularies and the Unicode class table are embedded in the library
// at build time (scripts/fetch-tiktoken); nothing is read or downloaded at run time.
// Input is UTF-8; a byte that is not part of valid UTF-8 counts as a symbol of its own
// (neither letter, digit nor space) and is encoded as that byte.
// Thread-safety: an encoding is built once, on first use (thread-safe), and is immutable
// afterwards: one Tokenizer may be shared by any number of threads, and count() and encode()
// may run concurrently on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace refcache {

enum class Encoding { kO200kBase, kCl100kBase };

std::string_view to_string(Encoding e);  // "o200k_base", "cl100k_base"
std::optional<Encoding> encoding_from_string(std::string_view s);

class Tokenizer {
 public:
  // The encoding's tokenizer, built on the first call (10 to 50 ms for o200k_base) and kept
  // for the life of the process.
  static const Tokenizer& get(Encoding e);

  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;
  ~Tokenizer();

  Encoding encoding() const { return encoding_; }
  // Number of tokens of `text`; equals encode(text).size() without building the ids.
  std::size_t count(std::string_view text) const;
  // Whether `text` has more than `limit` tokens (count(text) > limit). Counting stops at the
  // first piece past the limit, so the answer for a large text costs about `limit` tokens'
  // work, not the whole text's.
  bool exceeds(std::string_view text, std::size_t limit) const;
  // The token ids (ranks) of `text`.
  std::vector<std::uint32_t> encode(std::string_view text) const;
  // Number of tokens in the vocabulary (special tokens excluded).
  std::size_t vocabulary_size() const;

  struct Impl;

 private:
  explicit Tokenizer(Encoding e);
  Encoding encoding_;
  std::unique_ptr<const Impl> impl_;
};

}  // namespace refcache
