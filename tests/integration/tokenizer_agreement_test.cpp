// refcache's tokenizer against its oracle, js-tiktoken 1.0.21 run by the pinned Node 22:
// token ids of every document of a deterministic 1.2 MB corpus (JSON, prose, code, non-Latin
// scripts, emoji, combining marks, long runs of spaces and digits), for o200k_base and
// cl100k_base, through both encode() and count(), and the count of the whole corpus as one
// text.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "integration/token_corpus.hpp"
#include "refcache/tokenizer.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using refcache::Encoding;
using refcache::Tokenizer;

struct Oracle {
  std::vector<std::string> docs;
  json::value answer;
};

// Runs the oracle once for the whole test program.
const Oracle& oracle() {
  static const Oracle o = [] {
    Oracle r;
    r.docs = refcache::test::TokenCorpus::generate(1200 * 1024);
    const fs::path dir =
        fs::temp_directory_path() / ("refcache-tokenizer-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    json::array arr;
    for (const auto& d : r.docs) arr.emplace_back(d);
    {
      std::ofstream f(dir / "corpus.json", std::ios::binary);
      f << json::serialize(arr);
    }
    const std::string cmd = std::string("'") + REFCACHE_TEST_NODE + "' '" + REFCACHE_TEST_ORACLE +
                            "' '" + (dir / "corpus.json").string() + "' '" +
                            (dir / "oracle.json").string() + "'";
    const int rc = std::system(cmd.c_str());  // NOLINT(cert-env33-c): our own fixed command
    std::ifstream in(dir / "oracle.json", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (rc == 0) r.answer = json::parse(ss.str());
    fs::remove_all(dir);
    return r;
  }();
  return o;
}

std::vector<std::uint32_t> ids_of(const json::value& v) {
  std::vector<std::uint32_t> out;
  for (const auto& x : v.as_array())
    out.push_back(static_cast<std::uint32_t>(x.to_number<std::int64_t>()));
  return out;
}

class Agreement : public ::testing::TestWithParam<Encoding> {};

TEST_P(Agreement, SameIdsAndCountsAsJsTiktokenOnEveryDocument) {
  const Oracle& o = oracle();
  ASSERT_TRUE(o.answer.is_object()) << "the oracle (js-tiktoken under Node 22) did not run";
  std::size_t bytes = 0;
  for (const auto& d : o.docs) bytes += d.size();
  ASSERT_GE(bytes, std::size_t{1} << 20);
  const Tokenizer& t = Tokenizer::get(GetParam());
  const json::array& expected = o.answer.at(to_string(GetParam())).at("ids").as_array();
  ASSERT_EQ(expected.size(), o.docs.size());
  std::size_t mismatches = 0, tokens = 0;
  for (std::size_t i = 0; i < o.docs.size() && mismatches < 5; ++i) {
    const std::vector<std::uint32_t> want = ids_of(expected[i]);
    tokens += want.size();
    const std::vector<std::uint32_t> got = t.encode(o.docs[i]);
    if (got != want) {
      ++mismatches;
      ADD_FAILURE() << "document " << i << " (" << o.docs[i].size() << " bytes): " << got.size()
                    << " ids, js-tiktoken " << want.size() << "\n"
                    << o.docs[i].substr(0, 400);
    }
    EXPECT_EQ(t.count(o.docs[i]), want.size()) << "document " << i;
  }
  EXPECT_EQ(mismatches, 0U);
  EXPECT_GT(tokens, bytes / 8);
}

TEST_P(Agreement, SameCountAsJsTiktokenOnTheWholeCorpus) {
  const Oracle& o = oracle();
  ASSERT_TRUE(o.answer.is_object()) << "the oracle (js-tiktoken under Node 22) did not run";
  const Tokenizer& t = Tokenizer::get(GetParam());
  const auto want = o.answer.at(to_string(GetParam())).at("whole").to_number<std::uint64_t>();
  const std::string all = refcache::test::TokenCorpus::joined(o.docs);
  EXPECT_EQ(t.count(all), want);
  EXPECT_EQ(t.encode(all).size(), want);
}

INSTANTIATE_TEST_SUITE_P(Encodings, Agreement,
                         ::testing::Values(Encoding::kO200kBase, Encoding::kCl100kBase),
                         [](const auto& param_info) {
                           return std::string(to_string(param_info.param));
                         });

}  // namespace
