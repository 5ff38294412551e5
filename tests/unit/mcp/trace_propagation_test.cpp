// The trace context's way through the SDK: the dispatcher reads it from params._meta or the
// HTTP headers (the _meta winning) and serves the handler under a child span of it; the worker
// pool runs each job under the trace that was current where it was submitted; mcp::Client puts
// the current trace (with a new span id) into the requests it sends.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <string>

#include "mcp/server.hpp"
#include "mcp/trace_scope.hpp"
#include "mcp/worker_pool.hpp"
#include "unit/mcp/client/test_transports.hpp"
#include "unit/recording_outbound.hpp"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using mcp::TraceContext;

constexpr const char* kSent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr const char* kSentTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kHeader = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
constexpr const char* kHeaderTrace = "0af7651916cd43dd8448eb211c80319c";

// What a handler saw of its trace.
struct Seen {
  std::optional<TraceContext> context;  // ToolContext::trace()
  std::optional<TraceContext> current;  // mcp::current_trace() on the handler's thread
  std::string tool;                     // mcp::current_tool()
  std::optional<TraceContext> pooled;   // current_trace() in a job the handler submitted
};

class TraceDispatch : public ::testing::Test {
 protected:
  TraceDispatch()
      : server_(
            mcp::ServerOptions{.info = {.name = "trace", .version = "1"}, .worker_threads = 2}) {
    server_.tool_raw({.name = "probe", .description = "records its trace"},
                     [this](const bj::value&, mcp::ToolContext& ctx) {
                       Seen s;
                       if (ctx.trace()) s.context = *ctx.trace();
                       if (mcp::current_trace()) s.current = *mcp::current_trace();
                       s.tool = std::string(mcp::current_tool());
                       std::promise<std::optional<TraceContext>> p;
                       pool_.submit([&p] {
                         const TraceContext* t = mcp::current_trace();
                         p.set_value(t ? std::optional<TraceContext>(*t) : std::nullopt);
                       });
                       s.pooled = p.get_future().get();
                       std::lock_guard lk(mu_);
                       seen_ = s;
                       return mcp::CallToolResult::text("ok");
                     });
    session_ = std::make_shared<mcp::Session>("s", mcp::TransportKind::kInMemory);
    server_.attach(session_);
    call(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":)"
         R"("2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    call(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  }
  ~TraceDispatch() override { server_.detach(session_); }

  void call(const std::string& text, const mcp::MessageInfo& info = {}) {
    auto out = std::make_shared<test_support::RecordingOutbound>();
    server_.handle(session_, jsonio::parse_or_throw(text), out, info);
    ASSERT_TRUE(out->wait()) << text;
  }
  // Calls the probe with `meta` as params._meta (none when empty) and returns what it saw.
  Seen probe(const std::string& meta, const mcp::MessageInfo& info = {}) {
    {
      std::lock_guard lk(mu_);
      seen_ = {};
    }
    std::string params = R"({"name":"probe","arguments":{})";
    if (!meta.empty()) params += R"(,"_meta":)" + meta;
    params += "}";
    call(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":)" + params + "}", info);
    std::lock_guard lk(mu_);
    return seen_;
  }

  mcp::WorkerPool pool_{1, 8};
  mcp::Server server_;
  std::shared_ptr<mcp::Session> session_;
  std::mutex mu_;
  Seen seen_;
};

TEST_F(TraceDispatch, HandlerRunsInAChildSpanOfTheMetaTraceparent) {
  Seen s = probe(std::string(R"({"traceparent":")") + kSent + R"(","tracestate":"k=v"})");
  ASSERT_TRUE(s.context);
  EXPECT_EQ(s.context->trace_id(), kSentTrace);
  EXPECT_NE(s.context->span_id(), "00f067aa0ba902b7");
  EXPECT_EQ(s.context->tracestate(), "k=v");
  ASSERT_TRUE(s.current);
  EXPECT_EQ(*s.current, *s.context);
  EXPECT_EQ(s.tool, "probe");
  // The job the handler gave another thread ran under the same span.
  ASSERT_TRUE(s.pooled);
  EXPECT_EQ(*s.pooled, *s.context);
  // Outside the handler the thread has no trace.
  EXPECT_EQ(mcp::current_trace(), nullptr);
}

TEST_F(TraceDispatch, ReadsTheHttpHeadersAndPrefersTheMeta) {
  mcp::MessageInfo info;
  info.traceparent = kHeader;
  info.tracestate = "h=1";
  Seen from_header = probe("", info);
  ASSERT_TRUE(from_header.context);
  EXPECT_EQ(from_header.context->trace_id(), kHeaderTrace);
  EXPECT_EQ(from_header.context->tracestate(), "h=1");
  Seen both = probe(std::string(R"({"traceparent":")") + kSent + R"("})", info);
  ASSERT_TRUE(both.context);
  EXPECT_EQ(both.context->trace_id(), kSentTrace);
  EXPECT_EQ(both.context->tracestate(), "");
}

TEST_F(TraceDispatch, StartsANewTraceWithoutAValidOne) {
  Seen none = probe("");
  Seen again = probe("");
  Seen invalid =
      probe(R"({"traceparent":"00-00000000000000000000000000000000-00f067aa0ba902b7-01"})");
  mcp::MessageInfo info;
  info.traceparent = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
  Seen bad_header = probe("", info);
  for (const Seen* s : {&none, &again, &invalid, &bad_header}) {
    ASSERT_TRUE(s->context);
    EXPECT_NE(s->context->trace_id(), kSentTrace);
    EXPECT_NE(s->context->trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
  }
  EXPECT_NE(none.context->trace_id(), again.context->trace_id());
  EXPECT_NE(invalid.context->trace_id(), bad_header.context->trace_id());
}

TEST(TracePool, JobsRunUnderTheSubmittersTrace) {
  mcp::WorkerPool pool(1, 8);
  auto traced_in_job = [&pool] {
    std::promise<std::string> p;
    pool.submit([&p] {
      const TraceContext* t = mcp::current_trace();
      p.set_value(t ? t->traceparent() + "/" + std::string(mcp::current_tool()) : "none");
    });
    return p.get_future().get();
  };
  EXPECT_EQ(traced_in_job(), "none");
  {
    mcp::TraceScope scope(*TraceContext::parse(kSent), "tool_a");
    EXPECT_EQ(traced_in_job(), std::string(kSent) + "/tool_a");
    {
      mcp::TraceScope inner(*TraceContext::parse(kHeader));
      // An inner scope without a tool keeps the enclosing one's.
      EXPECT_EQ(traced_in_job(), std::string(kHeader) + "/tool_a");
    }
    EXPECT_EQ(mcp::current_trace()->traceparent(), kSent);
  }
  EXPECT_EQ(mcp::current_trace(), nullptr);
  // The pool's thread keeps nothing from the job before.
  EXPECT_EQ(traced_in_job(), "none");
}

class TraceClient : public ::testing::Test {
 protected:
  TraceClient()
      : server_(mcp::ServerOptions{.info = {.name = "trace", .version = "1"}, .worker_threads = 2}),
        client_(
            mcp::ClientOptions{.info = {.name = "unit", .version = "1"}, .request_timeout = 5s}) {
    server_.tool_raw({.name = "probe", .description = "records its trace"},
                     [this](const bj::value&, mcp::ToolContext& ctx) {
                       std::lock_guard lk(mu_);
                       server_saw_ = *ctx.trace();
                       return mcp::CallToolResult::text("ok");
                     });
    auto t = std::make_unique<client_test::InProcessTransport>(server_);
    transport_ = t.get();
    client_.connect(std::move(t));
  }
  // The last tools/call the client sent.
  mcp::OutgoingMessage last_call() {
    for (auto sent = transport_->sent(); !sent.empty(); sent.pop_back())
      if (sent.back().method == "tools/call") return sent.back();
    ADD_FAILURE() << "no tools/call was sent";
    return {};
  }

  mcp::Server server_;
  mcp::Client client_;
  client_test::InProcessTransport* transport_ = nullptr;
  std::mutex mu_;
  std::optional<TraceContext> server_saw_;
};

TEST_F(TraceClient, SendsTheCurrentTraceWithANewSpan) {
  const TraceContext ours = *TraceContext::parse(kSent, "k=v");
  {
    mcp::TraceScope scope(ours);
    client_.call_tool("probe");
  }
  mcp::OutgoingMessage m = last_call();
  bj::value v = jsonio::parse_or_throw(m.text);
  const bj::object& meta = v.at("params").at("_meta").as_object();
  auto sent =
      TraceContext::parse(meta.at("traceparent").as_string(), meta.at("tracestate").as_string());
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->trace_id(), kSentTrace);
  EXPECT_NE(sent->span_id(), ours.span_id());
  EXPECT_EQ(sent->tracestate(), "k=v");
  // The HTTP transport's headers carry the same context.
  EXPECT_EQ(m.traceparent, sent->traceparent());
  EXPECT_EQ(m.tracestate, "k=v");
  // The server's span is a child of what was sent.
  std::lock_guard lk(mu_);
  ASSERT_TRUE(server_saw_);
  EXPECT_EQ(server_saw_->trace_id(), kSentTrace);
  EXPECT_NE(server_saw_->span_id(), sent->span_id());
  EXPECT_NE(server_saw_->span_id(), ours.span_id());
}

TEST_F(TraceClient, SendsNoTraceOutsideOne) {
  client_.call_tool("probe");
  mcp::OutgoingMessage m = last_call();
  bj::value v = jsonio::parse_or_throw(m.text);
  const bj::object& params = v.at("params").as_object();
  if (const auto* meta = params.if_contains("_meta")) {
    EXPECT_FALSE(meta->as_object().contains("traceparent"));
  }
  EXPECT_EQ(m.traceparent, "");
  std::lock_guard lk(mu_);
  ASSERT_TRUE(server_saw_);
  EXPECT_NE(server_saw_->trace_id(), kSentTrace);
}

}  // namespace
