// Ref ids (refcache/ref_id.hpp): their shape, making them, parsing them, and the JSON-Schema
// pattern that tools advertise for them.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "refcache/random.hpp"
#include "refcache/ref_id.hpp"

using namespace refcache;

namespace {

// The 64 bits of an id make_ref_id() made.
std::uint64_t bits_of(const std::string& id) {
  return std::stoull(id.substr(id.size() - kRefIdHexDigits), nullptr, 16);
}

}  // namespace

TEST(RefId, MadeIdsHaveTheShapeAndRecogniseTheirCache) {
  const std::regex shape("^demo-1:[0-9a-f]{16}$");
  for (int i = 0; i < 1000; ++i) {
    const std::string id = make_ref_id("demo-1");
    ASSERT_TRUE(std::regex_match(id, shape)) << id;
    auto parts = parse_ref_id(id);
    ASSERT_TRUE(parts) << id;
    EXPECT_EQ(parts->cache_name, "demo-1");
    EXPECT_EQ(parts->hex.size(), kRefIdHexDigits);
    EXPECT_TRUE(is_ref_id(id));
  }
}

TEST(RefId, MadeIdsAreUnrelatedAndNeverRepeatAcrossThreads) {
  std::set<std::string> seen;
  std::uint64_t flipped = 0, previous = 0;
  const int n = 50000;
  for (int i = 0; i < n; ++i) {
    const std::string id = make_ref_id("c");
    ASSERT_TRUE(seen.insert(id).second) << id;
    const std::uint64_t bits = bits_of(id);
    if (i > 0) flipped += static_cast<std::uint64_t>(std::popcount(bits ^ previous));
    previous = bits;
  }
  // Consecutive ids differ in about half of their 64 bits, as independent draws do.
  EXPECT_NEAR(static_cast<double>(flipped) / (n - 1), 32.0, 0.5);
  std::vector<std::vector<std::string>> drawn(4);
  std::vector<std::thread> threads;
  for (auto& mine : drawn)
    threads.emplace_back([&mine] {
      for (int i = 0; i < 20000; ++i) mine.push_back(make_ref_id("c"));
    });
  for (auto& t : threads) t.join();
  for (const auto& mine : drawn)
    for (const auto& id : mine) ASSERT_TRUE(seen.insert(id).second) << id;
}

TEST(RefId, AForkedChildDrawsOtherBytesThanItsParent) {
  // The parent has bytes buffered when it forks; the child must not hand out the same ones.
  (void)random_u64();
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::uint64_t v[4];
    for (auto& x : v) x = random_u64();
    const bool ok = write(pipe_fds[1], v, sizeof v) == static_cast<ssize_t>(sizeof v);
    _exit(ok ? 0 : 1);
  }
  std::uint64_t mine[4], theirs[4];
  for (auto& x : mine) x = random_u64();
  ASSERT_EQ(read(pipe_fds[0], theirs, sizeof theirs), static_cast<ssize_t>(sizeof theirs));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  EXPECT_NE(std::memcmp(mine, theirs, sizeof mine), 0);
}

TEST(RefId, AcceptsTheShape) {
  for (const char* ok : {"myapp:abc12345", "my-cache:0123456789abcdef", "my_cache:abcdef01",
                         "MyApp:abcdef0123", "a:00000000"})
    EXPECT_TRUE(is_ref_id(ok)) << ok;
  auto parts = parse_ref_id("my_cache:abcdef0123");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->cache_name, "my_cache");
  EXPECT_EQ(parts->hex, "abcdef0123");
}

TEST(RefId, RejectsEverythingElse) {
  for (const char* bad :
       {"123cache:abcdef01", "myapp:abc123", "myapp:abcdefgh", "", ":", "app:ABCDEF12",
        "abc:12345678\n", "test:../secret", "test:$(whoami)", "a b:12345678", "app:12345678 ",
        "app::12345678", "demo", "a:b:ffffffffffffffff", "demo:0123456789abcde\xe6"}) {
    EXPECT_FALSE(is_ref_id(bad)) << bad;
    EXPECT_FALSE(parse_ref_id(bad)) << bad;
  }
}

TEST(RefId, ThePatternAgreesWithIsRefId) {
  // Tools advertise kRefIdPattern for ref-id parameters; a client that validates with it
  // must accept exactly the strings the server resolves as refs.
  const std::regex pattern{std::string(kRefIdPattern)};
  std::vector<std::string> samples = {"a:00000000",
                                      "a:0000000",
                                      "Z_-9:ffffffffffffffffff",
                                      "9a:00000000",
                                      "a:0000000g",
                                      "a:00000000\n",
                                      "",
                                      "a-:12345678",
                                      "_a:12345678",
                                      make_ref_id("x")};
  // Every byte value at every position of a short id.
  const std::string base = "ab:0123456789";
  for (std::size_t at = 0; at < base.size(); ++at)
    for (int c = 0; c < 256; ++c) {
      std::string m = base;
      m[at] = static_cast<char>(c);
      samples.push_back(m);
    }
  for (const auto& s : samples) EXPECT_EQ(std::regex_match(s, pattern), is_ref_id(s)) << s;
}

TEST(RefId, CacheNames) {
  for (const char* ok : {"a", "calculator", "My-Cache_2"}) EXPECT_TRUE(is_cache_name(ok)) << ok;
  for (const char* bad : {"", "2a", "-a", "a:b", "a b", "é"})
    EXPECT_FALSE(is_cache_name(bad)) << bad;
}
