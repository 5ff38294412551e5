// The tokenizer's contract on known cases: token ids of short texts (fixed from tiktoken's
// documented examples and js-tiktoken 1.0.21), the split patterns' backtracking cases, both
// merge algorithms agreeing, invalid UTF-8, empty input, and sharing across threads. The
// agreement with js-tiktoken on a large corpus is tests/integration/tokenizer_agreement_test.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "refcache/tokenizer.hpp"
#include "refcache/tokenizer/byte_pair_encoding.hpp"
#include "refcache/tokenizer/embedded_data.hpp"
#include "refcache/tokenizer/pre_tokenizer.hpp"
#include "refcache/tokenizer/unicode_classes.hpp"
#include "refcache/tokenizer/vocabulary.hpp"

namespace {

using refcache::Encoding;
using refcache::Tokenizer;
namespace tk = refcache::tokenizer;
using Ids = std::vector<std::uint32_t>;

const Tokenizer& o200k() {
  return Tokenizer::get(Encoding::kO200kBase);
}
const Tokenizer& cl100k() {
  return Tokenizer::get(Encoding::kCl100kBase);
}

std::vector<std::string> pieces(tk::SplitPattern p, std::string_view text) {
  const tk::PreTokenizer split(p, tk::unicode_classes_table());
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t end = split.next(text, pos);
    EXPECT_GT(end, pos);
    out.emplace_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}
using Pieces = std::vector<std::string>;

TEST(Tokenizer, NamesOfEncodings) {
  EXPECT_EQ(refcache::to_string(Encoding::kO200kBase), "o200k_base");
  EXPECT_EQ(refcache::to_string(Encoding::kCl100kBase), "cl100k_base");
  EXPECT_EQ(refcache::encoding_from_string("cl100k_base"), Encoding::kCl100kBase);
  EXPECT_EQ(refcache::encoding_from_string("o200k_base"), Encoding::kO200kBase);
  EXPECT_FALSE(refcache::encoding_from_string("p50k_base"));
  EXPECT_EQ(o200k().encoding(), Encoding::kO200kBase);
  EXPECT_EQ(&Tokenizer::get(Encoding::kO200kBase), &o200k());  // built once
}

TEST(Tokenizer, VocabulariesHaveTheirSizes) {
  EXPECT_EQ(o200k().vocabulary_size(), 199998U);
  EXPECT_EQ(cl100k().vocabulary_size(), 100256U);
}

TEST(Tokenizer, KnownIds) {
  // tiktoken's README example and js-tiktoken 1.0.21.
  EXPECT_EQ(cl100k().encode("hello world"), (Ids{15339, 1917}));
  EXPECT_EQ(o200k().encode("hello world"), (Ids{24912, 2375}));
  EXPECT_EQ(cl100k().encode("tiktoken is great!"), (Ids{83, 1609, 5963, 374, 2294, 0}));
}

TEST(Tokenizer, EmptyTextHasNoTokens) {
  EXPECT_EQ(o200k().count(""), 0U);
  EXPECT_TRUE(cl100k().encode("").empty());
}

TEST(Tokenizer, SpecialTokensAreOrdinaryText) {
  const Ids ids = cl100k().encode("<|endoftext|>");
  EXPECT_GT(ids.size(), 1U);
  for (std::uint32_t id : ids) EXPECT_LT(id, 100256U);
}

TEST(Tokenizer, CountEqualsTheNumberOfIds) {
  const std::string texts[] = {"{\"a\":[1,2,3],\"b\":\"Grüße, 世界! 👍🏽\"}",
                               "    indented\n\n\tcode();  // comment\r\n",
                               std::string(700, ' ') + "x", "ﾊﾝｶｸ カタカナ ひらがな"};
  for (const auto& t : texts) {
    EXPECT_EQ(o200k().count(t), o200k().encode(t).size()) << t;
    EXPECT_EQ(cl100k().count(t), cl100k().encode(t).size()) << t;
    EXPECT_EQ(o200k().count(t), o200k().count(t)) << "the piece cache answers the same";
  }
}

TEST(Tokenizer, ExceedsIsCountAboveTheLimitAtEveryLimit) {
  const std::string texts[] = {"{\"a\":[1,2,3],\"b\":\"Grüße, 世界! 👍🏽\"}",
                               std::string(700, ' ') + "x", "", "a"};
  for (const auto& t : texts)
    for (const Tokenizer* tok : {&o200k(), &cl100k()}) {
      const std::size_t n = tok->count(t);
      for (std::size_t limit = 0; limit <= n + 2; ++limit)
        EXPECT_EQ(tok->exceeds(t, limit), n > limit) << t << " limit " << limit;
    }
}

TEST(PreTokenizer, Cl100kSplits) {
  const auto p = tk::SplitPattern::kCl100k;
  EXPECT_EQ(pieces(p, "Hello world's 12345 ok"),
            (Pieces{"Hello", " world", "'s", " ", "123", "45", " ok"}));
  // \s+(?!\S) leaves the last space to the word; a run of line breaks ends with them.
  EXPECT_EQ(pieces(p, "a   b\n\n  c"), (Pieces{"a", "  ", " b", "\n\n", " ", " c"}));
  EXPECT_EQ(pieces(p, "x  "), (Pieces{"x", "  "}));
  // Contractions, either case; a symbol prefix joins letters.
  EXPECT_EQ(pieces(p, "I'LL don't"), (Pieces{"I", "'LL", " don", "'t"}));
  EXPECT_EQ(pieces(p, "$foo ...bar\r\n"), (Pieces{"$foo", " ...", "bar", "\r\n"}));
}

TEST(PreTokenizer, O200kSplits) {
  const auto p = tk::SplitPattern::kO200k;
  // Case runs: an upper-case run keeps the lower-case letters after it; contractions stay on.
  EXPECT_EQ(pieces(p, "HelloWorld XMLHttp don't"),
            (Pieces{"Hello", "World", " XMLHttp", " don't"}));
  EXPECT_EQ(pieces(p, "ABC"), (Pieces{"ABC"}));
  // Slashes join a symbol run; digits split by three.
  EXPECT_EQ(pieces(p, "a //b 1234567"), (Pieces{"a", " //", "b", " ", "123", "456", "7"}));
  // An upper-case run with no lower-case letter after it: backtracking ends the first
  // alternative after the run's last mark (\p{M} is in both classes).
  EXPECT_EQ(pieces(p, "A\u0301B c"), (Pieces{"A\u0301", "B", " c"}));
  // Lm after Lu: the first alternative backtracks to the modifier letter.
  EXPECT_EQ(pieces(p, "H\u02B0G"), (Pieces{"H\u02B0", "G"}));
}

TEST(PreTokenizer, InvalidUtf8IsASymbolOfItsOwn) {
  const std::string bad = std::string("ab\xFF\xC3(cd", 7);
  EXPECT_EQ(pieces(tk::SplitPattern::kO200k, bad), (Pieces{"ab", "\xFF\xC3(", "cd"}));
  EXPECT_EQ(o200k().count(bad), o200k().encode(bad).size());
  EXPECT_GE(cl100k().count(bad), 3U);
}

TEST(BytePairEncoding, ScanAndHeapAgree) {
  const tk::Vocabulary vocab(tk::o200k_base_ranks());
  const std::string texts[] = {std::string(300, ' '), std::string(257, '-'),
                               "antidisestablishmentarianism_supercalifragilistic",
                               "数据库连接池配置参数说明文档与示例代码片段以及相关的注意事项"};
  for (const auto& t : texts) {
    Ids scan, heap;
    tk::merge_parts_scan(vocab, t, scan);
    tk::merge_parts_heap(vocab, t, heap);
    EXPECT_EQ(scan, heap) << t;
    EXPECT_EQ(scan.front(), 0U);
  }
}

TEST(BytePairEncoding, VocabularyLooksUpEveryLength) {
  const tk::Vocabulary vocab(tk::cl100k_base_ranks());
  EXPECT_EQ(vocab.rank("hello"), 15339U);
  EXPECT_EQ(vocab.rank("!"), 0U);
  EXPECT_EQ(vocab.rank(std::string_view("\x00\x01\x02", 3)), tk::kNoRank);
  EXPECT_EQ(vocab.rank(""), tk::kNoRank);
}

TEST(Tokenizer, SharedAcrossThreads) {
  const std::string text =
      "{\"key\":\"value\",\"list\":[1,2,3],\"text\":\"Ünïcödé 日本語 🙂\"}";
  const std::size_t want = o200k().count(text);
  std::vector<std::thread> threads;
  std::vector<std::size_t> got(4, 0);
  for (std::size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] {
      std::size_t n = 0;
      for (int k = 0; k < 200; ++k) n = Tokenizer::get(Encoding::kO200kBase).count(text);
      got[i] = n;
    });
  for (auto& t : threads) t.join();
  for (std::size_t n : got) EXPECT_EQ(n, want);
}

}  // namespace
