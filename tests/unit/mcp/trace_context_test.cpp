// mcp::TraceContext: W3C traceparent/tracestate parsing and formatting, over valid and invalid
// header values.
#include "mcp/trace_context.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace {

using mcp::TraceContext;

constexpr const char* kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContext, ParsesAValidVersion00Header) {
  auto t = TraceContext::parse(kValid, "congo=t61rcWkgMzE");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->span_id(), "00f067aa0ba902b7");
  EXPECT_EQ(t->flags(), 1);
  EXPECT_TRUE(t->sampled());
  EXPECT_EQ(t->tracestate(), "congo=t61rcWkgMzE");
  EXPECT_EQ(t->traceparent(), kValid);
}

TEST(TraceContext, KeepsTheFlagsItWasGiven) {
  auto t = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->sampled());
  EXPECT_EQ(t->traceparent().substr(53), "00");
}

TEST(TraceContext, RefusesInvalidHeaders) {
  const char* bad[] = {
      "",
      "00",
      // all-zero trace id, all-zero parent id
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      // uppercase hex
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
      // version ff, uppercase version, non-hex version
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      // bad lengths
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
      // version 00 with more after it
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      // wrong separators, non-hex
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
      " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  };
  for (const char* h : bad) EXPECT_FALSE(TraceContext::parse(h)) << h;
}

TEST(TraceContext, ReadsALaterVersionByItsFirstFields) {
  auto t = TraceContext::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
  // What it sends on is version 00.
  EXPECT_EQ(t->traceparent(), kValid);
  EXPECT_TRUE(TraceContext::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(TraceContext::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01what"));
}

TEST(TraceContext, DropsAnInvalidTracestateButKeepsTheTraceparent) {
  const std::string too_long(TraceContext::kMaxTraceStateLength + 1, 'a');
  auto t = TraceContext::parse(kValid, too_long);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->tracestate(), "");
  const std::string longest(TraceContext::kMaxTraceStateLength, 'a');
  EXPECT_EQ(TraceContext::parse(kValid, longest)->tracestate(), longest);
  EXPECT_EQ(TraceContext::parse(kValid, "a=b\nc=d")->tracestate(), "");
  EXPECT_EQ(TraceContext::parse(kValid, std::string("a=\x01"))->tracestate(), "");
}

TEST(TraceContext, StartMakesNewRandomTraces) {
  std::set<std::string> traces, spans;
  for (int i = 0; i < 100; ++i) {
    auto t = TraceContext::start();
    EXPECT_TRUE(t.sampled());
    // What it writes, it reads back.
    auto back = TraceContext::parse(t.traceparent());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, t);
    traces.insert(t.trace_id());
    spans.insert(t.span_id());
  }
  EXPECT_EQ(traces.size(), 100U);
  EXPECT_EQ(spans.size(), 100U);
}

TEST(TraceContext, ChildKeepsTheTraceWithANewSpan) {
  auto parent = TraceContext::parse(kValid, "k=v");
  ASSERT_TRUE(parent);
  std::set<std::string> spans{parent->span_id()};
  for (int i = 0; i < 50; ++i) {
    auto c = parent->child();
    EXPECT_EQ(c.trace_id(), parent->trace_id());
    EXPECT_EQ(c.flags(), parent->flags());
    EXPECT_EQ(c.tracestate(), "k=v");
    spans.insert(c.span_id());
  }
  EXPECT_EQ(spans.size(), 51U);
}

}  // namespace
