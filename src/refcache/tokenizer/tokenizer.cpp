#include "refcache/tokenizer.hpp"

#include "refcache/tokenizer/byte_pair_encoding.hpp"
#include "refcache/tokenizer/embedded_data.hpp"
#include "refcache/tokenizer/piece_cache.hpp"
#include "refcache/tokenizer/pre_tokenizer.hpp"
#include "refcache/tokenizer/unicode_classes.hpp"
#include "refcache/tokenizer/vocabulary.hpp"

namespace refcache {

std::string_view to_string(Encoding e) {
  return e == Encoding::kCl100kBase ? "cl100k_base" : "o200k_base";
}

std::optional<Encoding> encoding_from_string(std::string_view s) {
  if (s == "o200k_base") return Encoding::kO200kBase;
  if (s == "cl100k_base") return Encoding::kCl100kBase;
  return std::nullopt;
}

struct Tokenizer::Impl {
  tokenizer::Vocabulary vocab;
  tokenizer::PreTokenizer split;

  // Calls f(piece) for each piece of `text`, in order, until f returns false.
  template <class F>
  void for_each_piece(std::string_view text, F&& f) const {
    for (std::size_t pos = 0; pos < text.size();) {
      const std::size_t end = split.next(text, pos);
      if (!f(text.substr(pos, end - pos))) return;
      pos = end;
    }
  }

  // Tokens of one piece.
  std::size_t piece_count(const Tokenizer* owner, std::string_view piece) const {
    // Most pieces are tokens themselves: one look-up, no merging.
    if (vocab.rank(piece) != tokenizer::kNoRank) return 1;
    if (const auto cached = tokenizer::find_cached_count(owner, piece)) return *cached;
    const std::size_t n = tokenizer::byte_pair_count(vocab, piece);
    tokenizer::store_cached_count(owner, piece, n);
    return n;
  }
};

Tokenizer::Tokenizer(Encoding e) : encoding_(e) {
  using tokenizer::SplitPattern;
  const bool o200k = e == Encoding::kO200kBase;
  impl_ = std::make_unique<const Impl>(Impl{
      tokenizer::Vocabulary(o200k ? tokenizer::o200k_base_ranks() : tokenizer::cl100k_base_ranks()),
      tokenizer::PreTokenizer(o200k ? SplitPattern::kO200k : SplitPattern::kCl100k,
                              tokenizer::unicode_classes_table())});
}

Tokenizer::~Tokenizer() = default;

const Tokenizer& Tokenizer::get(Encoding e) {
  if (e == Encoding::kCl100kBase) {
    static const Tokenizer cl100k(Encoding::kCl100kBase);
    return cl100k;
  }
  static const Tokenizer o200k(Encoding::kO200kBase);
  return o200k;
}

std::size_t Tokenizer::count(std::string_view text) const {
  std::size_t total = 0;
  impl_->for_each_piece(text, [&](std::string_view piece) {
    total += impl_->piece_count(this, piece);
    return true;
  });
  return total;
}

bool Tokenizer::exceeds(std::string_view text, std::size_t limit) const {
  // Every token holds at least one byte.
  if (text.size() <= limit) return false;
  std::size_t total = 0;
  impl_->for_each_piece(text, [&](std::string_view piece) {
    total += impl_->piece_count(this, piece);
    return total <= limit;
  });
  return total > limit;
}

std::vector<std::uint32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<std::uint32_t> ids;
  ids.reserve(text.size() / 3);
  impl_->for_each_piece(text, [&](std::string_view piece) {
    if (const std::uint32_t r = impl_->vocab.rank(piece); r != tokenizer::kNoRank) {
      ids.push_back(r);
    } else {
      tokenizer::byte_pair_encode(impl_->vocab, piece, ids);
    }
    return true;
  });
  return ids;
}

std::size_t Tokenizer::vocabulary_size() const {
  return impl_->vocab.size();
}

}  // namespace refcache
