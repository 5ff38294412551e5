// The client's SSE parser (src/mcp/sse_parser.hpp): events cut at every byte boundary, LF, CR
// and CRLF line ends, multi-line data, comments, event types, id and retry fields, the BOM, and
// the size cap that keeps memory bounded.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mcp/sse_parser.hpp"

namespace {

using mcp::detail::SseEvent;
using mcp::detail::SseParser;

struct Seen {
  std::string type, data, id;
  bool operator==(const Seen&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Seen& s) {
  return os << "{" << s.type << "|" << s.data << "|" << s.id << "}";
}

// Feeds `text` in pieces of `step` bytes (0: at once).
std::vector<Seen> parse(SseParser& p, std::string_view text, std::size_t step = 0) {
  std::vector<Seen> out;
  auto on = [&](SseEvent& e) { out.push_back({e.type, e.data, e.id}); };
  if (step == 0) {
    p.feed(text, on);
  } else {
    for (std::size_t i = 0; i < text.size(); i += step) p.feed(text.substr(i, step), on);
  }
  return out;
}

const std::string kStream =
    "\xEF\xBB\xBF: a comment\r\n"
    "id: s1-0\r\n"
    "retry: 1500\r\n"
    "data: \r\n"
    "\r\n"
    "event: message\n"
    "id: s1-1\n"
    "data: {\"a\":1,\n"
    "data:  \"b\":2}\n"
    "\n"
    ": keepalive\r\r"
    "data:no-space\r"
    "unknown: field\r"
    "\r"
    "event: endpoint\n"
    "data: /messages?sessionId=x\n"
    "\n";

const std::vector<Seen> kExpected = {
    {"", "", "s1-0"},
    {"message", "{\"a\":1,\n \"b\":2}", "s1-1"},
    {"", "no-space", "s1-1"},
    {"endpoint", "/messages?sessionId=x", "s1-1"},
};

TEST(SseParser, WholeStream) {
  SseParser p(1024);
  EXPECT_EQ(parse(p, kStream), kExpected);
  EXPECT_EQ(p.last_event_id(), "s1-1");
  ASSERT_TRUE(p.retry().has_value());
  EXPECT_EQ(p.retry()->count(), 1500);
  EXPECT_FALSE(p.failed());
}

TEST(SseParser, EveryChunkBoundary) {
  for (std::size_t step = 1; step <= 7; ++step) {
    SseParser p(1024);
    EXPECT_EQ(parse(p, kStream, step), kExpected) << "pieces of " << step;
  }
  // Cut in two at every position: a CRLF pair, the BOM, a field name split anywhere.
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    SseParser p(1024);
    std::vector<Seen> out;
    auto on = [&](SseEvent& e) { out.push_back({e.type, e.data, e.id}); };
    p.feed(std::string_view(kStream).substr(0, cut), on);
    p.feed(std::string_view(kStream).substr(cut), on);
    EXPECT_EQ(out, kExpected) << "cut at " << cut;
  }
}

TEST(SseParser, CrlfSplitAcrossChunksIsOneLineEnd) {
  SseParser p(1024);
  std::vector<Seen> out;
  auto on = [&](SseEvent& e) { out.push_back({e.type, e.data, e.id}); };
  p.feed("data: a\r", on);
  p.feed("\ndata: b\r", on);
  p.feed("\n\r", on);  // the CR alone is the blank line: the event is complete
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "a\nb");
  p.feed("\ndata: c\n\n", on);  // that LF belongs to the CR before it, not a second blank line
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].data, "c");
}

TEST(SseParser, EventsWithoutDataAreNotDispatchedButTheirIdCounts) {
  SseParser p(1024);
  auto out = parse(p, "id: 7\n\nevent: x\n\ndata\n\n");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (Seen{"", "", "7"}));  // `data` without a colon: an empty data line
  EXPECT_EQ(p.last_event_id(), "7");
}

TEST(SseParser, BadRetryAndIdWithNulAreIgnored) {
  SseParser p(1024);
  parse(p, std::string("retry: 12x\nretry: -5\nid: a\0b\ndata: x\n\n", 38));
  EXPECT_FALSE(p.retry().has_value());
  EXPECT_EQ(p.last_event_id(), "");
}

TEST(SseParser, OversizeLineFailsAndStopsParsing) {
  SseParser p(64);
  std::vector<Seen> out;
  auto on = [&](SseEvent& e) { out.push_back({e.type, e.data, e.id}); };
  EXPECT_TRUE(p.feed("data: ok\n\n", on));
  EXPECT_FALSE(p.feed("data: " + std::string(100, 'x'), on));
  EXPECT_TRUE(p.failed());
  EXPECT_NE(p.error().find("longer than 64 bytes"), std::string::npos) << p.error();
  EXPECT_FALSE(p.feed("\n\ndata: later\n\n", on));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "ok");
}

TEST(SseParser, OversizeEventFailsEvenWithShortLines) {
  SseParser p(64);
  std::vector<Seen> out;
  auto on = [&](SseEvent& e) { out.push_back({e.type, e.data, e.id}); };
  bool ok = true;
  for (int i = 0; i < 20 && ok; ++i) ok = p.feed("data: 0123456789\n", on);
  EXPECT_FALSE(ok);
  EXPECT_NE(p.error().find("SSE event larger than 64 bytes"), std::string::npos) << p.error();
  EXPECT_TRUE(out.empty());
}

TEST(SseParser, ResetPartialKeepsTheLastIdAndRetry) {
  SseParser p(1024);
  std::vector<Seen> out;
  auto on = [&](SseEvent& e) { out.push_back({e.type, e.data, e.id}); };
  p.feed("retry: 10\nid: 3\ndata: one\n\ndata: broken-off", on);
  p.reset_partial();
  p.feed("data: two\n\n", on);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1], (Seen{"", "two", "3"}));
  EXPECT_EQ(p.retry()->count(), 10);
}

}  // namespace
