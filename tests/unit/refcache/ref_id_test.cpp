// Ref ids: their hex form (format_ref_id, ref_id_bits) and the keyed counter the memory
// backend issues them from (RefIdCipher, Speck64/128).
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "refcache/backends/ref_id_cipher.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/random.hpp"

using refcache::detail::RefIdCipher;

namespace {

RefIdCipher random_cipher() {
  std::array<std::uint32_t, 4> key;
  refcache::random_bytes(key.data(), sizeof key);
  return RefIdCipher(key);
}

}  // namespace

TEST(RefIdCipher, MatchesTheSpeck64_128TestVector) {
  // The designers' test vector (Beaulieu et al. 2013, appendix C): key 1b1a1918 13121110
  // 0b0a0908 03020100, plaintext 3b726574 7475432d, ciphertext 8c6fa548 454e028b.
  const RefIdCipher c({0x1b1a1918, 0x13121110, 0x0b0a0908, 0x03020100});
  EXPECT_EQ(c.encrypt(0x3b7265747475432dull), 0x8c6fa548454e028bull);
  EXPECT_EQ(c.decrypt(0x8c6fa548454e028bull), 0x3b7265747475432dull);
}

TEST(RefIdCipher, CountsComeBackAndDoNotShowThrough) {
  const RefIdCipher a = random_cipher();
  const RefIdCipher b = random_cipher();
  std::set<std::uint64_t> seen;
  std::uint64_t flipped = 0, same_under_both = 0;
  const std::uint64_t n = 100000;
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t e = a.encrypt(i);
    ASSERT_EQ(a.decrypt(e), i);
    ASSERT_TRUE(seen.insert(e).second);  // a permutation: never the same id twice
    // Consecutive counts give unrelated ids: about half of the 64 bits differ.
    flipped += static_cast<std::uint64_t>(std::popcount(e ^ a.encrypt(i + 1)));
    same_under_both += e == b.encrypt(i);
  }
  const double mean = static_cast<double>(flipped) / static_cast<double>(n);
  EXPECT_GT(mean, 31.5);
  EXPECT_LT(mean, 32.5);
  EXPECT_EQ(same_under_both, 0u);  // another key, other ids
  for (std::uint64_t x : {0ull, ~0ull, 0x8000000000000000ull, 0x123456789abcdef0ull})
    EXPECT_EQ(a.decrypt(a.encrypt(x)), x);
}

TEST(RefIds, HexFormReadsBack) {
  EXPECT_EQ(refcache::format_ref_id("demo", 0x0123456789abcdefull), "demo:0123456789abcdef");
  EXPECT_EQ(refcache::format_ref_id("", 0), ":0000000000000000");
  EXPECT_EQ(refcache::ref_id_bits("demo:0123456789abcdef"), 0x0123456789abcdefull);
  EXPECT_EQ(refcache::ref_id_bits("a:b:ffffffffffffffff"), ~0ull);  // the last 16 digits
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t v = refcache::random_u64() >> (i % 64);
    ASSERT_EQ(refcache::ref_id_bits(refcache::format_ref_id("c", v)), v);
  }
  for (const char* bad :
       {"", "demo", ":0123456789abcde", "demo:0123456789ABCDEF", "demo0123456789abcdef",
        "demo:0123456789abcdef0", "demo:0123456789abcdeg", "demo:0123456789abcde\xe6"})
    EXPECT_FALSE(refcache::ref_id_bits(bad)) << bad;
  // Every byte value at every digit: only 0-9 and a-f read (the digits are checked eight at
  // a time, so a wrong byte must be caught wherever it sits in its word).
  for (const std::uint64_t v : {0ull, 0x0123456789abcdefull, ~0ull}) {
    const std::string id = refcache::format_ref_id("c", v);
    for (std::size_t at = 2; at < id.size(); ++at)
      for (int c = 0; c < 256; ++c) {
        std::string m = id;
        m[at] = static_cast<char>(c);
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        ASSERT_EQ(refcache::ref_id_bits(m).has_value(), hex) << at << " " << c;
      }
  }
}

TEST(RefIds, MemoryBackendIssuesUnguessableIdsThatNeverRepeat) {
  refcache::MemoryBackend a, b;
  const std::regex shape("^demo:[0-9a-f]{16}$");
  std::set<std::string> from_a;
  std::uint64_t flipped = 0;
  std::uint64_t previous = 0;
  const int n = 50000;
  for (int i = 0; i < n; ++i) {
    const std::string id = a.new_ref_id("demo");
    if (i < 1000) {
      ASSERT_TRUE(std::regex_match(id, shape)) << id;
    }
    ASSERT_TRUE(from_a.insert(id).second) << id;
    const std::uint64_t bits = *refcache::ref_id_bits(id);
    if (i > 0) flipped += static_cast<std::uint64_t>(std::popcount(bits ^ previous));
    previous = bits;
  }
  // Nothing of the counter shows: consecutive ids differ in about half their bits.
  EXPECT_NEAR(static_cast<double>(flipped) / (n - 1), 32.0, 0.5);
  // Another backend has another key: none of its ids is one of a's.
  for (int i = 0; i < n; ++i) ASSERT_EQ(from_a.count(b.new_ref_id("demo")), 0u);
  // Drawn from several threads at once, ids stay distinct.
  std::vector<std::vector<std::string>> drawn(4);
  std::vector<std::thread> threads;
  for (auto& mine : drawn)
    threads.emplace_back([&a, &mine] {
      for (int i = 0; i < 20000; ++i) mine.push_back(a.new_ref_id("demo"));
    });
  for (auto& t : threads) t.join();
  for (const auto& mine : drawn)
    for (const auto& id : mine) ASSERT_TRUE(from_a.insert(id).second) << id;
}
