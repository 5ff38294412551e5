// The --warm file: calls, identities and refresh_at read as written; every mistake refused
// with a message naming the file and the member.
#include "refcache_mcp/warm_file.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using refcache::InvalidArgument;
using refcache::mcp::parse_warm_file;

TEST(WarmFile, ReadsCallsIdentitiesAndRefreshAt) {
  const auto w = parse_warm_file(R"({"refresh_at": 0.6, "calls": [
      {"tool": "generate_primes", "arguments": {"count": 10}},
      {"tool": "analyze_data", "arguments": {"data": [1, 2]}, "as": {"user_id": "alice"}}]})",
                                 "w.json");
  EXPECT_DOUBLE_EQ(w.refresh_at, 0.6);
  ASSERT_EQ(w.calls.size(), 2U);
  EXPECT_EQ(w.calls[0].tool, "generate_primes");
  EXPECT_EQ(w.calls[0].arguments.at("count"), 10);
  // Without "as", the system: its results land where anonymous callers' would.
  EXPECT_TRUE(w.calls[0].identity.values.empty());
  EXPECT_EQ(w.calls[0].identity.default_actor, refcache::Actor::system());
  EXPECT_EQ(w.calls[1].identity.values.at("user_id"), "alice");
  EXPECT_DOUBLE_EQ(parse_warm_file(R"({"calls": [{"tool": "t"}]})", "w").refresh_at, 0.8);
}

TEST(WarmFile, MistakesAreNamed) {
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"calls": []})", "non-empty list"},
      {R"({"call": [{"tool": "t"}]})", "unknown member \"call\""},
      {R"({"refresh_at": 1, "calls": [{"tool": "t"}]})", "between 0 and 1"},
      {R"({"refresh_at": "soon", "calls": [{"tool": "t"}]})", "must be a number"},
      {R"({"calls": [{"arguments": {}}]})", "calls[0] names no tool"},
      {R"({"calls": [{"tool": "t", "arguments": [1]}]})", "calls[0].arguments must be an object"},
      {R"({"calls": [{"tool": "t"}, {"tool": "u", "as": {"user_id": 7}}]})",
       "calls[1].as.user_id must be a string"},
      {R"({"calls": [{"tool": "t", "args": {}}]})", "unknown member \"args\""},
  };
  for (const auto& [text, want] : cases) {
    try {
      parse_warm_file(text, "w.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const InvalidArgument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("w.json"), std::string::npos) << what;
      EXPECT_NE(what.find(want), std::string::npos) << text << " -> " << what;
    }
  }
  EXPECT_THROW(refcache::mcp::read_warm_file("/nonexistent/warm.json"), InvalidArgument);
}

}  // namespace
