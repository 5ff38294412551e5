// refcache-gateway relays its upstreams' input requests to a 2026-07-28 client as input_required
// rounds (apps/refcache-gateway/parked_calls.hpp; the requests of one upstream round in one
// round, under the upstream's keys), driven by mcp::Client over stdio, the
// gateway a child process with a config file, in front of two real upstreams:
//   - @modelcontextprotocol/server-everything (2025-11-25, run by the npm-provided Node): its
//     elicitation/create and sampling/createMessage requests during a tool call;
//   - mcp-conformance-server (2026-07-28): its input_required results, one and three inputs.
// The client's handlers see the upstream's questions and the tools' results carry the answers;
// a forged request state and a stale one get clear JSON-RPC errors; an ask the client never
// answers expires and leaves nothing parked; progress reaches the round and a cancelled round
// ends the upstream call; a 2025-11-25 client still gets requests. prompts/get and
// resources/read ask the same way. Over
// Streamable HTTP with two bearer users, a retry of another user's call is refused and the call
// stays parked, and an error answer ({"error": ...}) reaches the upstream.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "e2e/client/server_process.hpp"
#include "mcp/client.hpp"
#include "mcp/client_http.hpp"
#include "mcp/client_stdio.hpp"

namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The gateway's per-call deadline, hence how long a relayed ask waits for the client.
constexpr int kCallTimeoutSeconds = 3;

// A stdio transport that remembers the last requestState the server sent, so that the test can
// send it again after its call has ended.
class StateRecorder : public mcp::ClientTransport {
 public:
  explicit StateRecorder(std::unique_ptr<mcp::ClientTransport> inner)
      : inner_(std::move(inner)), last_(std::make_shared<Last>()) {}
  void start(mcp::ClientTransportCallbacks callbacks) override {
    auto message = std::move(callbacks.message);
    callbacks.message = [message, last = last_](std::string text) {
      if (text.find("\"requestState\"") != std::string::npos) {
        boost::system::error_code ec;
        const bj::value v = bj::parse(text, ec);
        if (!ec && v.is_object())
          if (const auto* r = v.as_object().if_contains("result"); r && r->is_object())
            if (const auto* s = r->as_object().if_contains("requestState"); s && s->is_string()) {
              std::lock_guard lock(last->mu);
              last->state = std::string(s->get_string());
              ++last->rounds;
              last->keys.clear();
              if (const auto* ir = r->as_object().if_contains("inputRequests");
                  ir && ir->is_object() && !ir->as_object().empty()) {
                last->key = std::string(ir->as_object().begin()->key());
                for (const auto& kv : ir->as_object()) last->keys.emplace_back(kv.key());
              }
            }
      }
      message(std::move(text));
    };
    inner_->start(std::move(callbacks));
  }
  void send(mcp::OutgoingMessage message) override { inner_->send(std::move(message)); }
  void close() override { inner_->close(); }
  mcp::TransportKind kind() const override { return inner_->kind(); }
  std::string describe() const override { return inner_->describe(); }

  struct Last {
    std::mutex mu;
    std::string state;
    std::string key;                // of the first input request
    std::vector<std::string> keys;  // of every input request, in order
    int rounds = 0;                 // input_required results seen
  };
  std::shared_ptr<Last> last() const { return last_; }

 private:
  std::unique_ptr<mcp::ClientTransport> inner_;
  std::shared_ptr<Last> last_;
};

std::string text_of(const mcp::CallToolResult& r) {
  std::string s;
  for (const auto& b : r.content)
    if (const auto* o = b.if_object())
      if (const auto* t = o->if_contains("text"); t && t->is_string()) s += t->get_string();
  return s;
}

class GatewayInputRelay : public ::testing::Test {
 protected:
  void SetUp() override {
    struct stat st {};
    ASSERT_EQ(::stat(RELAY_TEST_NODE, &st), 0) << "node_modules not installed: run scripts/setup";
    ASSERT_EQ(::stat(RELAY_TEST_EVERYTHING, &st), 0);
    dir_ = fs::temp_directory_path() / ("gateway-input-relay-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const bj::object config{
        {"mcpServers",
         bj::object{{"everything", bj::object{{"command", RELAY_TEST_NODE},
                                              {"args", bj::array{RELAY_TEST_EVERYTHING, "stdio"}}}},
                    {"conf", bj::object{{"command", RELAY_TEST_CONFORMANCE},
                                        {"args", bj::array{"--stdio"}},
                                        {"refcache", bj::object{{"prefix", "conf"}}}}}}}};
    config_ = (dir_ / "mcp.json").string();
    std::ofstream(config_) << bj::serialize(config);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A client of a new gateway, in `versions`, whose handlers record what they are asked.
  std::unique_ptr<mcp::Client> connect(mcp::VersionNegotiation versions,
                                       std::shared_ptr<StateRecorder::Last>* last = nullptr) {
    auto client = std::make_unique<mcp::Client>(mcp::ClientOptions{
        .info = {.name = "gateway-input-relay-test", .version = "1"}, .versions = versions});
    client->on_elicitation([this](const mcp::ElicitationRequest& rq) {
      {
        std::lock_guard lock(mu_);
        asked_.push_back("elicitation: " + rq.message);
      }
      if (refuse_) throw mcp::Error(mcp::error_code::kInternalError, "the test refuses");
      bj::object content{
          {"name", "Ada Lovelace"}, {"check", true}, {"value", "v"}, {"context", "from the test"}};
      return mcp::ElicitationResult{.action = "accept", .content = content};
    });
    client->on_sampling([this](const mcp::SamplingRequest& rq) {
      std::string text;
      if (!rq.messages.empty())
        if (const auto* c = rq.messages[0].as_object().if_contains("content"); c && c->is_object())
          if (const auto* t = c->as_object().if_contains("text"); t && t->is_string())
            text = std::string(t->get_string());
      {
        std::lock_guard lock(mu_);
        asked_.push_back("sampling: " + text);
      }
      return mcp::SamplingResult{.content = mcp::text_content("sampled-by-the-relay-test"),
                                 .model = "test-model",
                                 .stop_reason = "endTurn"};
    });
    client->on_roots([this] {
      std::lock_guard lock(mu_);
      asked_.emplace_back("roots");
      return std::vector<mcp::Root>{{.uri = "file:///tmp/relay-root", .name = "root"}};
    });
    auto stdio = std::make_unique<mcp::StdioClientTransport>(mcp::StdioClientOptions{
        .command = RELAY_TEST_GATEWAY,
        .args = {"--config", config_, "--backend", "memory:", "--call-timeout",
                 std::to_string(kCallTimeoutSeconds)},
        .log_name = "gateway"});
    auto recorder = std::make_unique<StateRecorder>(std::move(stdio));
    if (last) *last = recorder->last();
    client->connect(std::move(recorder));
    // server-everything adds its elicitation and sampling tools once it has seen the gateway's
    // capabilities; both upstreams start in the background.
    const auto until = std::chrono::steady_clock::now() + 15s;
    for (;;) {
      int found = 0;
      for (const auto& t : client->list_tools())
        if (t.name == "trigger-elicitation-request" || t.name == "trigger-sampling-request" ||
            t.name == "conf_test_input_required_result_elicitation")
          ++found;
      if (found == 3) break;
      if (std::chrono::steady_clock::now() > until) {
        ADD_FAILURE() << "the upstreams' tools did not appear";
        break;
      }
      std::this_thread::sleep_for(100ms);
    }
    return client;
  }

  std::vector<std::string> asked() {
    std::lock_guard lock(mu_);
    return asked_;
  }
  bj::object relay_status(mcp::Client& client) {
    const mcp::CallToolResult r = client.call_tool("gateway_status");
    return r.structured_content->as_object().at("relayed_calls").as_object();
  }

  fs::path dir_;
  std::string config_;
  std::mutex mu_;
  std::vector<std::string> asked_;
  std::atomic<bool> refuse_{false};
};

TEST_F(GatewayInputRelay, ModernClientAnswersBothUpstreamsQuestionsInRounds) {
  std::shared_ptr<StateRecorder::Last> last;
  auto client = connect(mcp::VersionNegotiation::kModern, &last);
  ASSERT_EQ(client->era(), mcp::Era::kModern);

  // A 2025-11-25 upstream's elicitation/create request, during its tool call.
  const mcp::CallToolResult elicited = client->call_tool("trigger-elicitation-request");
  EXPECT_FALSE(elicited.is_error) << text_of(elicited);
  EXPECT_NE(text_of(elicited).find("User provided the requested information"), std::string::npos)
      << text_of(elicited);
  EXPECT_NE(text_of(elicited).find("- Name: Ada Lovelace"), std::string::npos) << text_of(elicited);
  ASSERT_EQ(asked().size(), 1u);
  EXPECT_EQ(asked()[0], "elicitation: Please provide inputs for the following fields:");

  // Its sampling/createMessage request.
  const mcp::CallToolResult sampled =
      client->call_tool("trigger-sampling-request", {{"prompt", "say hi"}, {"maxTokens", 10}});
  EXPECT_FALSE(sampled.is_error) << text_of(sampled);
  EXPECT_NE(text_of(sampled).find("sampled-by-the-relay-test"), std::string::npos)
      << text_of(sampled);
  ASSERT_EQ(asked().size(), 2u);
  EXPECT_NE(asked()[1].find("say hi"), std::string::npos) << asked()[1];

  // A 2026-07-28 upstream's input_required result.
  const mcp::CallToolResult hello =
      client->call_tool("conf_test_input_required_result_elicitation");
  EXPECT_FALSE(hello.is_error) << text_of(hello);
  EXPECT_EQ(text_of(hello), "Hello, Ada Lovelace!");
  ASSERT_EQ(asked().size(), 3u);
  EXPECT_EQ(asked()[2], "elicitation: What is your name?");

  // Three inputs of one upstream round: one round of the client's, under the upstream's keys.
  int rounds_before = 0;
  {
    std::lock_guard lock(last->mu);
    rounds_before = last->rounds;
  }
  const mcp::CallToolResult all =
      client->call_tool("conf_test_input_required_result_multiple_inputs");
  EXPECT_EQ(text_of(all), "All inputs received");
  const auto seen = asked();
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen[3], "elicitation: What is your name?");
  EXPECT_NE(seen[4].find("sampling: Generate a greeting"), std::string::npos) << seen[4];
  EXPECT_EQ(seen[5], "roots");
  {
    std::lock_guard lock(last->mu);
    EXPECT_EQ(last->rounds, rounds_before + 1);
    EXPECT_EQ(last->keys, (std::vector<std::string>{"user_name", "greeting", "client_roots"}));
  }

  // The state of a round that has been answered names no call any more.
  std::string stale;
  {
    std::lock_guard lock(last->mu);
    stale = last->state;
  }
  ASSERT_FALSE(stale.empty());
  const bj::object retry{{"name", "conf_test_input_required_result_multiple_inputs"},
                         {"arguments", bj::object{}},
                         {"requestState", stale},
                         {"inputResponses", bj::object{}}};
  try {
    client->request("tools/call", retry);
    ADD_FAILURE() << "a stale request state was accepted";
  } catch (const mcp::ClientError& e) {
    ADD_FAILURE() << "not a JSON-RPC error: " << e.what();
  } catch (const mcp::Error& e) {
    EXPECT_EQ(e.code(), mcp::error_code::kInvalidParams);
    EXPECT_NE(std::string(e.what()).find("unknown or no longer waits"), std::string::npos)
        << e.what();
  }
  // A forged one never reaches the gateway's handler.
  bj::object forged = retry;
  forged["requestState"] = "v1.eyJzIjoicmVsYXk6MDAwMCJ9.AAAA";
  try {
    client->request("tools/call", forged);
    ADD_FAILURE() << "a forged request state was accepted";
  } catch (const mcp::ClientError& e) {
    ADD_FAILURE() << "not a JSON-RPC error: " << e.what();
  } catch (const mcp::Error& e) {
    EXPECT_EQ(e.code(), mcp::error_code::kInvalidParams);
    EXPECT_NE(std::string(e.what()).find("integrity"), std::string::npos) << e.what();
  }
  const bj::object status = relay_status(*client);
  EXPECT_EQ(status.at("parked").to_number<std::int64_t>(), 0) << bj::serialize(status);
  EXPECT_EQ(status.at("running").to_number<std::int64_t>(), 0) << bj::serialize(status);

  // The upstream's progress reaches the round in progress.
  std::atomic<int> progressed{0};
  mcp::CallOptions with_progress;
  with_progress.on_progress = [&](const mcp::Progress&) { ++progressed; };
  const mcp::CallToolResult ran = client->call_tool(
      "trigger-long-running-operation", {{"duration", 0.4}, {"steps", 4}}, with_progress);
  EXPECT_FALSE(ran.is_error) << text_of(ran);
  EXPECT_GE(progressed.load(), 1);
  // A cancelled round cancels the upstream call: its thread ends.
  mcp::CancellationToken cancel;
  mcp::CallOptions cancellable;
  cancellable.cancellation = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    cancel.cancel();
  });
  EXPECT_THROW(client->call_tool("trigger-long-running-operation",
                                 {{"duration", 20}, {"steps", 20}}, cancellable),
               mcp::ClientError);
  canceller.join();
  const auto until = std::chrono::steady_clock::now() + 3s;
  bj::object after;
  do {
    after = relay_status(*client);
  } while (after.at("running").to_number<std::int64_t>() != 0 &&
           std::chrono::steady_clock::now() < until && (std::this_thread::sleep_for(100ms), true));
  EXPECT_EQ(after.at("running").to_number<std::int64_t>(), 0) << bj::serialize(after);
}

// prompts/get and resources/read are relayed as tool calls are: in rounds to a 2026-07-28
// client, as requests to a 2025-11-25 one.
TEST_F(GatewayInputRelay, PromptsAndResourcesAskTheirCallerToo) {
  for (const auto versions : {mcp::VersionNegotiation::kModern, mcp::VersionNegotiation::kLegacy}) {
    {
      std::lock_guard lock(mu_);
      asked_.clear();
    }
    auto client = connect(versions);
    const std::string era = client->era() == mcp::Era::kModern ? "modern" : "legacy";
    const mcp::GetPromptResult prompt =
        client->get_prompt("conf_test_input_required_result_prompt");
    ASSERT_EQ(prompt.messages.size(), 1u) << era;
    EXPECT_EQ(prompt.messages[0].content.as_object().at("text"), "Context: from the test") << era;
    const mcp::ReadResourceResult read = client->read_resource("test://input-required-resource");
    ASSERT_EQ(read.contents.size(), 1u) << era;
    EXPECT_EQ(read.contents[0].text.value_or(""), "Context: from the test") << era;
    const auto seen = asked();
    ASSERT_EQ(seen.size(), 2u) << era;
    EXPECT_EQ(seen[0], "elicitation: What context should the prompt use?") << era;
    EXPECT_EQ(seen[1], "elicitation: What context should the resource use?") << era;
    const bj::object status = relay_status(*client);
    EXPECT_EQ(status.at("parked").to_number<std::int64_t>(), 0) << bj::serialize(status);
    EXPECT_EQ(status.at("running").to_number<std::int64_t>(), 0) << bj::serialize(status);
  }
}

TEST_F(GatewayInputRelay, AnAskTheClientNeverAnswersExpiresAndLeavesNothingParked) {
  auto client = connect(mcp::VersionNegotiation::kModern);
  // The client's handler fails: the client gives up its call and never retries.
  refuse_ = true;
  EXPECT_THROW(client->call_tool("conf_test_input_required_result_elicitation"), mcp::Error);
  EXPECT_EQ(relay_status(*client).at("parked").to_number<std::int64_t>(), 1);
  // Past the ask's deadline the upstream call fails and the entry is gone.
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::seconds(kCallTimeoutSeconds) + 5s;
  bj::object status;
  do {
    std::this_thread::sleep_for(250ms);
    status = relay_status(*client);
  } while ((status.at("parked").to_number<std::int64_t>() != 0 ||
            status.at("running").to_number<std::int64_t>() != 0) &&
           std::chrono::steady_clock::now() < until);
  EXPECT_EQ(status.at("parked").to_number<std::int64_t>(), 0) << bj::serialize(status);
  EXPECT_EQ(status.at("running").to_number<std::int64_t>(), 0) << bj::serialize(status);
  // The gateway serves on.
  refuse_ = false;
  EXPECT_EQ(text_of(client->call_tool("conf_test_input_required_result_elicitation")),
            "Hello, Ada Lovelace!");
}

TEST_F(GatewayInputRelay, LegacyClientStillGetsTheRequests) {
  auto client = connect(mcp::VersionNegotiation::kLegacy);
  ASSERT_EQ(client->era(), mcp::Era::kLegacy);
  const mcp::CallToolResult elicited = client->call_tool("trigger-elicitation-request");
  EXPECT_NE(text_of(elicited).find("- Name: Ada Lovelace"), std::string::npos) << text_of(elicited);
  ASSERT_EQ(asked().size(), 1u);
  EXPECT_EQ(asked()[0], "elicitation: Please provide inputs for the following fields:");
  // A 2026-07-28 upstream's three inputs of one round: three requests, one after the other.
  EXPECT_EQ(text_of(client->call_tool("conf_test_input_required_result_multiple_inputs")),
            "All inputs received");
  const auto seen = asked();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[1], "elicitation: What is your name?");
  EXPECT_NE(seen[2].find("sampling: Generate a greeting"), std::string::npos) << seen[2];
  EXPECT_EQ(seen[3], "roots");
}

// The gateway served over Streamable HTTP with two bearer users, started by the test.
client_e2e::ServerProcess http_gateway(const std::string& config) {
  return client_e2e::ServerProcess(
      {RELAY_TEST_GATEWAY, "--config", config, "--backend", "memory:", "--call-timeout",
       std::to_string(kCallTimeoutSeconds), "--bearer-token", "alice-token=alice", "--bearer-token",
       "bob-token=bob", "--transport", "http", "--host", "127.0.0.1", "--port", "0"},
      {}, R"(listening on (http://[^ ]+))");
}

TEST_F(GatewayInputRelay, OverHttpARetryOfAnotherUserIsRefusedAndAnErrorAnswerReachesTheUpstream) {
  client_e2e::ServerProcess gw = http_gateway(config_);
  const std::string url = gw.url();
  ASSERT_FALSE(url.empty()) << gw.output();
  auto http_client = [&](const std::string& user, std::shared_ptr<StateRecorder::Last>* last,
                         mcp::ElicitationHandler on_elicitation) {
    auto client = std::make_unique<mcp::Client>(
        mcp::ClientOptions{.info = {.name = "relay-" + user, .version = "1"},
                           .versions = mcp::VersionNegotiation::kModern});
    if (on_elicitation) client->on_elicitation(std::move(on_elicitation));
    auto http =
        std::make_unique<mcp::StreamableHttpClientTransport>(mcp::StreamableHttpClientOptions{
            .url = url, .headers = {{"Authorization", "Bearer " + user + "-token"}}});
    auto recorder = std::make_unique<StateRecorder>(std::move(http));
    if (last) *last = recorder->last();
    client->connect(std::move(recorder));
    return client;
  };
  const std::string tool = "conf_test_input_required_result_elicitation";
  auto bob = http_client("bob", nullptr, nullptr);
  std::shared_ptr<StateRecorder::Last> last;
  std::mutex mu;
  std::string bob_error;
  std::string own_error_answer;
  int round = 0;
  std::unique_ptr<mcp::Client> alice;
  // Alice's handler runs while her call is parked: the first time, Bob retries her call with
  // her state; the second time, she answers with an error herself before her client retries.
  alice = http_client("alice", &last, [&](const mcp::ElicitationRequest&) {
    std::string state;
    std::string key;
    {
      std::lock_guard lock(last->mu);
      state = last->state;
      key = last->key;
    }
    const bj::object retry{{"name", tool}, {"arguments", bj::object{}}, {"requestState", state}};
    std::lock_guard lock(mu);
    if (++round == 1) {
      bj::object forged = retry;
      forged["inputResponses"] = bj::object{
          {key, bj::object{{"action", "accept"}, {"content", bj::object{{"name", "Bob"}}}}}};
      try {
        bob->request("tools/call", forged);
        bob_error = "accepted";
      } catch (const mcp::Error& e) {
        bob_error = std::to_string(e.code()) + " " + e.what();
      }
    } else {
      bj::object refused = retry;
      refused["inputResponses"] = bj::object{
          {key, bj::object{{"error",
                            bj::object{{"code", -1}, {"message", "the user closed the dialog"}}}}}};
      own_error_answer = bj::serialize(alice->request("tools/call", refused));
    }
    return mcp::ElicitationResult{.action = "accept",
                                  .content = bj::object{{"name", "Ada Lovelace"}}};
  });
  // Another user's retry does not touch the call: Alice's own answer completes it.
  EXPECT_EQ(text_of(alice->call_tool(tool)), "Hello, Ada Lovelace!");
  EXPECT_NE(bob_error.find("-32600 refcache-gateway: this retry comes from another caller"),
            std::string::npos)
      << bob_error;
  // An error answer goes to the upstream, whose call then fails; the client's own retry after
  // it finds the call gone.
  try {
    alice->call_tool(tool);
    ADD_FAILURE() << "a retry of an answered call was accepted";
  } catch (const mcp::ClientError& e) {
    ADD_FAILURE() << "not a JSON-RPC error: " << e.what();
  } catch (const mcp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown or no longer waits"), std::string::npos)
        << e.what();
  }
  EXPECT_NE(own_error_answer.find("the user closed the dialog"), std::string::npos)
      << own_error_answer;
  EXPECT_NE(own_error_answer.find("\"isError\":true"), std::string::npos) << own_error_answer;
}

}  // namespace
