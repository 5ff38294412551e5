// mcp::Client against an mcp::Server of the test's, in this process, in both eras: paging, the
// bound on input rounds, the server's own deadline, resource subscriptions (2025-11-25
// resources/subscribe, 2026-07-28 the subscriptions/listen stream) and their updates, and a
// list_changed handler set after connect().
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "test_transports.hpp"

namespace {

using namespace client_test;
using namespace std::chrono_literals;
using mcp::ClientError;
namespace bj = boost::json;

class InProcess : public ::testing::TestWithParam<mcp::VersionNegotiation> {
 protected:
  void SetUp() override {
    server_ = std::make_unique<mcp::Server>(
        mcp::ServerOptions{.info = {.name = "in-process", .version = "1"},
                           .worker_threads = 2,
                           .call_timeout = 300ms,
                           .page_size = 2});
    for (int i = 0; i < 7; ++i)
      server_->tool_raw(
          {.name = "t" + std::to_string(i), .description = "tool"},
          [](const bj::value&, mcp::ToolContext&) { return mcp::CallToolResult::text("x"); });
    server_->tool_raw({.name = "nag", .description = "asks for input forever"},
                      [](const bj::value&, mcp::ToolContext& ctx) -> mcp::CallToolResult {
                        ctx.require_input(bj::object{
                            {"q", bj::object{{"method", "roots/list"}, {"params", bj::object{}}}}});
                      });
    server_->tool_raw({.name = "sleepy", .description = "outlives the server's deadline"},
                      [](const bj::value&, mcp::ToolContext& ctx) {
                        for (int i = 0; i < 200 && !ctx.cancelled(); ++i)
                          std::this_thread::sleep_for(5ms);
                        return mcp::CallToolResult::text("late");
                      });
    server_->resource({.uri = "memo://1", .name = "memo"},
                      [](const std::string& uri, mcp::RequestContext&) {
                        return mcp::ReadResourceResult{{{.uri = uri, .text = "one"}}};
                      });
    client_ =
        std::make_unique<mcp::Client>(mcp::ClientOptions{.info = {.name = "unit", .version = "1"},
                                                         .versions = GetParam(),
                                                         .request_timeout = 5s,
                                                         .max_input_rounds = 3});
    client_->on_roots([] { return std::vector<mcp::Root>{{.uri = "file:///r"}}; });
    client_->on_resource_updated([this](const std::string& uri) {
      std::lock_guard lk(mu_);
      updates_.push_back(uri);
      cv_.notify_all();
    });
    auto t = std::make_unique<InProcessTransport>(*server_);
    transport_ = t.get();
    client_->connect(std::move(t));
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
  }
  bool wait_updates(std::size_t n, std::chrono::milliseconds d = 3s) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, d, [&] { return updates_.size() >= n; });
  }
  bool legacy() const { return GetParam() == mcp::VersionNegotiation::kLegacy; }

  std::unique_ptr<mcp::Server> server_;
  std::unique_ptr<mcp::Client> client_;
  InProcessTransport* transport_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> updates_;
};

TEST_P(InProcess, EveryPageIsRead) {
  EXPECT_EQ(client_->era(), legacy() ? mcp::Era::kLegacy : mcp::Era::kModern);
  EXPECT_EQ(client_->list_tools().size(), 9u);  // five pages of two
}

TEST_P(InProcess, InputRoundsAreBounded) {
  if (legacy()) {
    // 2025-11-25 has no input rounds: the server reports the handler's need as an error.
    EXPECT_THROW(client_->call_tool("nag"), mcp::Error);
    return;
  }
  try {
    client_->call_tool("nag");
    ADD_FAILURE() << "no error";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("after 3 rounds"), std::string::npos) << e.what();
  }
}

TEST_P(InProcess, TheServersOwnDeadlineIsAToolError) {
  auto r = client_->call_tool("sleepy");
  EXPECT_TRUE(r.is_error);
  EXPECT_NE(jsonio::to_string(bj::value(r.content)).find("exceeded its deadline"),
            std::string::npos);
}

TEST_P(InProcess, SubscribedResourcesAreUpdated) {
  client_->subscribe("memo://1");
  EXPECT_EQ(server_->subscribed_uris(), (std::vector<std::string>{"memo://1"}));
  server_->notify_resource_updated("memo://1");
  ASSERT_TRUE(wait_updates(1));
  client_->unsubscribe("memo://1");
  server_->notify_resource_updated("memo://1");
  std::this_thread::sleep_for(100ms);
  std::lock_guard lk(mu_);
  EXPECT_EQ(updates_, (std::vector<std::string>{"memo://1"}));
}

TEST_P(InProcess, UnknownResourceSubscription) {
  // "Resource not found" is -32002 in the 2025-11-25 era and invalid params in the modern one.
  const int expected =
      legacy() ? mcp::error_code::kResourceNotFound : mcp::error_code::kInvalidParams;
  try {
    server_->set_subscribe_check([](const std::string&, mcp::RequestContext&) { return false; });
    client_->subscribe("memo://nope");
    ADD_FAILURE() << "no error";
  } catch (const ClientError& e) {
    ADD_FAILURE() << e.what();
  } catch (const mcp::Error& e) {
    EXPECT_EQ(e.code(), expected);
    EXPECT_EQ(e.data().at("uri"), "memo://nope");
  }
}

TEST_P(InProcess, ListChangedHandlerSetAfterConnect) {
  std::promise<void> seen;
  std::atomic<bool> once{false};
  client_->on_tools_list_changed([&] {
    if (!once.exchange(true)) seen.set_value();
  });
  server_->notify_tools_list_changed();
  EXPECT_EQ(seen.get_future().wait_for(3s), std::future_status::ready);
}

INSTANTIATE_TEST_SUITE_P(BothEras, InProcess,
                         ::testing::Values(mcp::VersionNegotiation::kLegacy,
                                           mcp::VersionNegotiation::kAuto),
                         [](const auto& p) {
                           return std::string(
                               p.param == mcp::VersionNegotiation::kLegacy ? "legacy" : "modern");
                         });

}  // namespace
