// The metadata of an entry: standard members as fields, the others as an object, and the one
// stored object they make together.
#include <gtest/gtest.h>

#include "jsonio/json_text.hpp"
#include "refcache/entry.hpp"
#include "test_util.hpp"

using namespace refcache;
using refcache_test::J;
namespace json = boost::json;

namespace {
std::string written(const CacheEntry& e) {
  std::string out = "x";  // write_metadata appends
  write_metadata(e, out);
  return out.substr(1);
}
}  // namespace

TEST(EntryMetadata, StandardMembersComeFirstInTheirOrderThenTheOthers) {
  CacheEntry e;
  e.metadata = J(R"({"b":1,"a":[2]})").as_object();
  e.standard.total_chars = 9;
  e.standard.tool_name = "t";
  const std::string want = R"({"tool_name":"t","total_chars":9,"b":1,"a":[2]})";
  EXPECT_EQ(jsonio::to_string(metadata_object(e)), want);
  EXPECT_EQ(written(e), want);
  e = CacheEntry{};
  EXPECT_EQ(written(e), "{}");
  EXPECT_TRUE(metadata_object(e).empty());
}

TEST(EntryMetadata, AStandardFieldThatIsSetWinsOverAnOtherMemberOfTheSameName) {
  // `metadata` may hold a member with a standard name (a caller built it so); it is stored
  // only when the field is unset, so the stored object never has a key twice.
  CacheEntry e;
  e.metadata = J(R"({"tool_name":"from-metadata","total_size":"odd","k":true})").as_object();
  e.standard.total_size = 5;
  const std::string want = R"({"total_size":5,"tool_name":"from-metadata","k":true})";
  EXPECT_EQ(jsonio::to_string(metadata_object(e)), want);
  EXPECT_EQ(written(e), want);
}

TEST(EntryMetadata, StoredObjectsSplitIntoFieldsAndOthersAndJoinBack) {
  const char* stored[] = {
      R"({"tool_name":null,"total_items":3,"total_size":7,"total_chars":7})",
      R"({"tool_name":"get_data","total_items":null,"total_size":12})",  // the reference's
      R"({"tool_name":5,"total_size":"7","x":{"y":[1,2]},"total_items":1.5})",
      R"({"only":"others","total_chars":18446744073709551615})",
      R"({})",
  };
  for (const char* text : stored) {
    CacheEntry e;
    e.metadata = J(R"({"stale":1})").as_object();  // replaced, not merged
    set_metadata(e, J(text).as_object());
    EXPECT_FALSE(e.metadata.contains("stale")) << text;
    for (const char* key : {"tool_name", "total_items", "total_size", "total_chars"})
      EXPECT_FALSE(e.metadata.contains(key)) << text << " " << key;
    // Every member comes back with its value, standard ones first.
    json::object joined = metadata_object(e);
    EXPECT_EQ(joined, J(text).as_object()) << text;
    EXPECT_EQ(written(e), jsonio::to_string(joined)) << text;
  }
  CacheEntry e;
  set_metadata(e, J(R"({"tool_name":"t","total_size":7,"extra":1})").as_object());
  EXPECT_EQ(e.standard.tool_name, json::value("t"));
  EXPECT_EQ(e.standard.total_size, json::value(7));
  EXPECT_FALSE(e.standard.total_items);
  EXPECT_FALSE(e.standard.total_chars);
  EXPECT_EQ(e.metadata, J(R"({"extra":1})").as_object());
}

TEST(EntryMetadata, CountsAreNonNegativeIntegersOnly) {
  EXPECT_EQ(metadata_count(json::value(7)), 7u);
  EXPECT_EQ(metadata_count(json::value(std::uint64_t{7})), 7u);
  EXPECT_EQ(metadata_count(json::value(0)), 0u);
  EXPECT_FALSE(metadata_count(std::nullopt));
  EXPECT_FALSE(metadata_count(json::value(-1)));
  EXPECT_FALSE(metadata_count(json::value(7.0)));
  EXPECT_FALSE(metadata_count(json::value("7")));
  EXPECT_FALSE(metadata_count(json::value(nullptr)));
}
