// The client's engine against scripted servers: the version negotiation and its fallbacks, the
// envelope of each era and what OutgoingMessage tells a transport, deadlines and cancellation
// (and the notifications/cancelled they send), the bound on calls in flight, the server's
// errors, malformed answers, paging bounds, the tools left out for invalid x-mcp-header
// annotations, a transport's per-request failures, and the server's requests.
#include <gtest/gtest.h>

#include <thread>

#include "test_transports.hpp"

namespace {

using namespace client_test;
using namespace std::chrono_literals;
using mcp::ClientError;
using mcp::OutgoingMessage;
namespace bj = boost::json;

mcp::ClientOptions opts() {
  return {.info = {.name = "unit", .version = "1"}, .request_timeout = 5s};
}

template <class Fn>
ClientError client_error(Fn fn) {
  try {
    fn();
  } catch (const ClientError& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a ClientError: " << e.what();
  }
  ADD_FAILURE() << "no ClientError";
  return ClientError(ClientError::Kind::kUnsupported, "none");
}

bj::object tool_result(const char* text) {
  return bj::object{{"content", bj::array{bj::object{{"type", "text"}, {"text", text}}}}};
}

TEST(ClientNegotiation, LegacyServerAnswersTheProbeWithAnError) {
  auto t = std::make_unique<ScriptedTransport>(
      legacy_server([](const OutgoingMessage& m, const bj::object&) -> std::vector<std::string> {
        return {result_line(m.id, bj::object{})};
      }));
  auto* raw = t.get();
  mcp::Client client(opts());
  client.connect(std::move(t));
  EXPECT_EQ(client.era(), mcp::Era::kLegacy);
  auto sent = raw->sent();
  ASSERT_GE(sent.size(), 3u);
  EXPECT_EQ(sent[0].method, "server/discover");
  EXPECT_EQ(sent[0].era, mcp::Era::kModern);
  EXPECT_EQ(sent[0].protocol_version, "2026-07-28");
  EXPECT_EQ(sent[1].method, "initialize");
  EXPECT_EQ(sent[1].era, mcp::Era::kLegacy);
  EXPECT_EQ(sent[1].protocol_version, "");
  EXPECT_EQ(sent[2].method, "notifications/initialized");
  EXPECT_EQ(sent[2].kind, OutgoingMessage::Kind::kNotification);
  EXPECT_EQ(sent[2].protocol_version, "2025-11-25");
}

TEST(ClientNegotiation, SilentStdioServerIsLegacyButSilentHttpIsAnOutage) {
  auto silent_probe = [](const OutgoingMessage& m,
                         const bj::object& o) -> std::vector<std::string> {
    if (m.method == "server/discover") return {};
    return legacy_server(
        [](const OutgoingMessage&, const bj::object&) { return std::vector<std::string>{}; })(m, o);
  };
  mcp::ClientOptions o = opts();
  o.probe_timeout = 200ms;
  {
    mcp::Client client(o);
    client.connect(std::make_unique<ScriptedTransport>(silent_probe));
    EXPECT_EQ(client.era(), mcp::Era::kLegacy);
  }
  mcp::Client client(o);
  auto e = client_error([&] {
    client.connect(
        std::make_unique<ScriptedTransport>(silent_probe, mcp::TransportKind::kStreamableHttp));
  });
  EXPECT_EQ(e.kind(), ClientError::Kind::kTimeout);
  EXPECT_FALSE(client.connected());
}

TEST(ClientNegotiation, ServerThatExitsOnTheProbeIsStartedAgain) {
  auto t = std::make_unique<ScriptedTransport>(
      [](const OutgoingMessage& m, const bj::object& o) -> std::vector<std::string> {
        if (m.method == "server/discover") return {"HANGUP"};
        return legacy_server([](const OutgoingMessage&, const bj::object&) {
          return std::vector<std::string>{};
        })(m, o);
      },
      mcp::TransportKind::kStdio, /*restartable=*/true);
  auto* raw = t.get();
  mcp::Client client(opts());
  client.connect(std::move(t));
  EXPECT_EQ(client.era(), mcp::Era::kLegacy);
  EXPECT_EQ(raw->starts(), 2);
  EXPECT_TRUE(client.connected());
}

TEST(ClientNegotiation, NoEraInCommon) {
  auto legacy_only = legacy_server(
      [](const OutgoingMessage&, const bj::object&) { return std::vector<std::string>{}; });
  mcp::ClientOptions o = opts();
  o.versions = mcp::VersionNegotiation::kModern;
  mcp::Client modern_only(o);
  auto e =
      client_error([&] { modern_only.connect(std::make_unique<ScriptedTransport>(legacy_only)); });
  EXPECT_EQ(e.kind(), ClientError::Kind::kUnsupported);

  mcp::Client client(opts());
  auto e2 = client_error([&] {
    client.connect(std::make_unique<ScriptedTransport>(
        [](const OutgoingMessage& m, const bj::object&) -> std::vector<std::string> {
          if (m.method == "server/discover") return {error_line(m.id, -32601, "no")};
          if (m.method == "initialize")
            return {result_line(m.id, bj::object{{"protocolVersion", "1999-01-01"},
                                                 {"capabilities", bj::object{}},
                                                 {"serverInfo", bj::object{{"name", "old"}}}})};
          return {};
        }));
  });
  EXPECT_EQ(e2.kind(), ClientError::Kind::kUnsupported);
  EXPECT_NE(std::string(e2.what()).find("1999-01-01"), std::string::npos) << e2.what();
}

TEST(ClientNegotiation, UnsupportedVersionThatListsOursIsAskedOnceMore) {
  // A -32022 whose `supported` names the version the client asked for: one more server/discover,
  // with a new id, under that version. A second refusal is an answer.
  auto refusing = [](int refusals) {
    return [refusals, n = std::make_shared<int>(0)](const OutgoingMessage& m,
                                                    const bj::object&) -> std::vector<std::string> {
      if (m.method != "server/discover")
        return {result_line(m.id, bj::object{{"tools", bj::array{}}})};
      if ((*n)++ < refusals)
        return {error_line(
            m.id, -32022, "Unsupported protocol version",
            bj::object{{"supported", bj::array{"2026-07-28"}}, {"requested", "2026-07-28"}})};
      return {result_line(m.id, bj::object{{"resultType", "complete"},
                                           {"supportedVersions", bj::array{"2026-07-28"}},
                                           {"capabilities", bj::object{}},
                                           {"serverInfo", bj::object{{"name", "s"}}}})};
    };
  };
  mcp::ClientOptions o = opts();
  o.versions = mcp::VersionNegotiation::kModern;
  auto t = std::make_unique<ScriptedTransport>(refusing(1), mcp::TransportKind::kStreamableHttp);
  auto* raw = t.get();
  mcp::Client client(o);
  client.connect(std::move(t));
  EXPECT_EQ(client.era(), mcp::Era::kModern);
  auto sent = raw->sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].method, "server/discover");
  EXPECT_EQ(sent[1].protocol_version, "2026-07-28");
  EXPECT_NE(jsonio::to_string(sent[0].id), jsonio::to_string(sent[1].id));

  mcp::Client stubborn(o);
  auto e = client_error([&] {
    stubborn.connect(
        std::make_unique<ScriptedTransport>(refusing(2), mcp::TransportKind::kStreamableHttp));
  });
  EXPECT_EQ(e.kind(), ClientError::Kind::kUnsupported);
}

// A modern server: server/discover answered, tools/call answered by `call`.
ScriptedTransport::Script modern_server(
    std::function<std::vector<std::string>(const OutgoingMessage&, const bj::object&)> rest) {
  return [rest](const OutgoingMessage& m, const bj::object& o) -> std::vector<std::string> {
    if (m.method == "server/discover")
      return {result_line(
          m.id,
          bj::object{{"resultType", "complete"},
                     {"supportedVersions", bj::array{"2026-07-28", "2025-11-25"}},
                     {"capabilities", bj::object{{"tools", bj::object{}}}},
                     {"instructions", "be nice"},
                     {"_meta", bj::object{{"io.modelcontextprotocol/serverInfo",
                                           bj::object{{"name", "modern"}, {"version", "2"}}}}}})};
    if (m.kind != OutgoingMessage::Kind::kRequest) return {};
    return rest(m, o);
  };
}

TEST(ClientEnvelope, ModernRequestsCarryTheirMeta) {
  auto t = std::make_unique<ScriptedTransport>(
      modern_server([](const OutgoingMessage& m, const bj::object&) -> std::vector<std::string> {
        if (m.method == "tools/list")
          return {result_line(
              m.id,
              bj::object{{"tools",
                          bj::array{bj::object{
                              {"name", "route"},
                              {"inputSchema",
                               bj::object{{"type", "object"},
                                          {"properties",
                                           bj::object{{"region", bj::object{{"type", "string"},
                                                                            {"x-mcp-header",
                                                                             "Region"}}}}}}}}}}})};
        if (m.method == "resources/read")
          return {result_line(m.id, bj::object{{"contents", bj::array{}}})};
        return {result_line(m.id, tool_result("ok"))};
      }));
  auto* raw = t.get();
  mcp::ClientOptions o = opts();
  o.log_level = mcp::LogLevel::kWarning;
  mcp::Client client(o);
  client.on_elicitation([](const mcp::ElicitationRequest&) { return mcp::ElicitationResult{}; });
  client.connect(std::move(t));
  EXPECT_EQ(client.era(), mcp::Era::kModern);
  EXPECT_EQ(client.server().implementation.name, "modern");
  EXPECT_EQ(client.server().instructions, "be nice");
  client.list_tools();
  client.call_tool("route", {{"region", "eu"}}, {.meta = {{"traceparent", "00-abc"}}});
  client.read_resource("file:///x");
  auto sent = raw->sent();
  const OutgoingMessage& call = sent[sent.size() - 2];
  EXPECT_EQ(call.method, "tools/call");
  EXPECT_EQ(call.name, "route");
  EXPECT_EQ(call.era, mcp::Era::kModern);
  EXPECT_EQ(call.protocol_version, "2026-07-28");
  ASSERT_EQ(call.param_headers.size(), 1u);
  EXPECT_EQ(call.param_headers[0], (std::pair<std::string, std::string>{"Region", "eu"}));
  const bj::object meta = jsonio::parse_or_throw(call.text).at("params").at("_meta").as_object();
  EXPECT_EQ(meta.at("io.modelcontextprotocol/protocolVersion"), "2026-07-28");
  EXPECT_TRUE(
      meta.at("io.modelcontextprotocol/clientCapabilities").as_object().contains("elicitation"));
  EXPECT_TRUE(meta.at("io.modelcontextprotocol/clientCapabilities")
                  .at("extensions")
                  .as_object()
                  .contains("io.modelcontextprotocol/tasks"));
  EXPECT_EQ(meta.at("io.modelcontextprotocol/clientInfo").at("name"), "unit");
  EXPECT_EQ(meta.at("io.modelcontextprotocol/logLevel"), "warning");
  EXPECT_EQ(meta.at("traceparent"), "00-abc");
  EXPECT_EQ(sent.back().method, "resources/read");
  EXPECT_EQ(sent.back().name, "file:///x");
}

TEST(ClientEnvelope, LegacyInitializeDeclaresTheHandlersCapabilities) {
  auto t = std::make_unique<ScriptedTransport>(
      legacy_server([](const OutgoingMessage& m, const bj::object&) -> std::vector<std::string> {
        return {result_line(m.id, bj::object{})};
      }));
  auto* raw = t.get();
  mcp::ClientOptions o = opts();
  o.versions = mcp::VersionNegotiation::kLegacy;
  mcp::Client client(o);
  client.on_roots([] { return std::vector<mcp::Root>{}; });
  client.on_sampling([](const mcp::SamplingRequest&) { return mcp::SamplingResult{}; });
  client.connect(std::move(t));
  auto sent = raw->sent();
  ASSERT_EQ(sent[0].method, "initialize");
  auto params = jsonio::parse_or_throw(sent[0].text).at("params").as_object();
  EXPECT_EQ(params.at("protocolVersion"), "2025-11-25");
  EXPECT_EQ(jsonio::to_string(params.at("capabilities")),
            R"({"roots":{"listChanged":true},"sampling":{}})");
  EXPECT_EQ(params.at("clientInfo").at("name"), "unit");
}

// A legacy server whose tools/call never answers; everything else answers {}.
ScriptedTransport::Script silent_calls() {
  return legacy_server([](const OutgoingMessage& m, const bj::object&) -> std::vector<std::string> {
    if (m.method == "tools/call") return {};
    return {result_line(m.id, bj::object{})};
  });
}

TEST(ClientCalls, DeadlineSendsCancelledAndFailsTheCall) {
  auto t = std::make_unique<ScriptedTransport>(silent_calls());
  auto* raw = t.get();
  mcp::Client client(opts());
  client.connect(std::move(t));
  auto t0 = std::chrono::steady_clock::now();
  auto e = client_error([&] { client.call_tool("slow", {}, {.timeout = 100ms}); });
  EXPECT_EQ(e.kind(), ClientError::Kind::kTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  auto sent = raw->sent();
  const OutgoingMessage& call = sent[sent.size() - 2];
  const OutgoingMessage& cancel = sent.back();
  EXPECT_EQ(call.method, "tools/call");
  EXPECT_EQ(cancel.method, "notifications/cancelled");
  ASSERT_TRUE(cancel.cancels.has_value());
  EXPECT_EQ(*cancel.cancels, call.id);
  auto params = jsonio::parse_or_throw(cancel.text).at("params");
  EXPECT_EQ(params.at("requestId"), call.id);
  EXPECT_EQ(client.stats().pending_requests, 0u);
}

TEST(ClientCalls, CancellationFromAnotherThread) {
  auto t = std::make_unique<ScriptedTransport>(silent_calls());
  auto* raw = t.get();
  mcp::Client client(opts());
  client.connect(std::move(t));
  mcp::CancellationToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    token.cancel();
  });
  auto e = client_error([&] { client.call_tool("slow", {}, {.cancellation = &token}); });
  canceller.join();
  EXPECT_EQ(e.kind(), ClientError::Kind::kCancelled);
  EXPECT_EQ(e.code(), -32800);
  auto cancel = jsonio::parse_or_throw(raw->sent().back().text);
  EXPECT_EQ(cancel.at("method"), "notifications/cancelled");
  EXPECT_EQ(cancel.at("params").at("reason"), "Cancelled by the caller");
}

TEST(ClientCalls, CallsInFlightAreBounded) {
  mcp::ClientOptions o = opts();
  o.max_pending_requests = 2;
  mcp::Client client(o);
  client.connect(std::make_unique<ScriptedTransport>(silent_calls()));
  std::vector<std::thread> waiting;
  for (int i = 0; i < 2; ++i)
    waiting.emplace_back([&] {
      try {
        client.call_tool("slow", {}, {.timeout = 1s});
      } catch (const ClientError&) {
      }
    });
  for (int i = 0; i < 100 && client.stats().pending_requests < 2; ++i)
    std::this_thread::sleep_for(5ms);
  auto e = client_error([&] { client.call_tool("slow", {}, {.timeout = 1s}); });
  EXPECT_EQ(e.kind(), ClientError::Kind::kBusy);
  for (auto& th : waiting) th.join();
}

TEST(ClientCalls, ServerErrorsKeepCodeMessageAndData) {
  mcp::Client client(opts());
  client.connect(std::make_unique<ScriptedTransport>(
      legacy_server([](const OutgoingMessage& m, const bj::object&) -> std::vector<std::string> {
        return {error_line(m.id, -32002, "Resource not found", bj::object{{"uri", "x://1"}})};
      })));
  try {
    client.read_resource("x://1");
    ADD_FAILURE() << "no error";
  } catch (const ClientError& e) {
    ADD_FAILURE() << "a local error: " << e.what();
  } catch (const mcp::Error& e) {
    EXPECT_EQ(e.code(), -32002);
    EXPECT_EQ(std::string(e.what()), "Resource not found");
    EXPECT_EQ(e.data().at("uri"), "x://1");
  }
}

TEST(ClientCalls, MalformedAnswers) {
  std::atomic<int> round{0};
  mcp::Client client(opts());
  client.connect(std::make_unique<ScriptedTransport>(
      legacy_server([&](const OutgoingMessage& m, const bj::object&) -> std::vector<std::string> {
        switch (round++) {
          case 0:  // both result and error
            return {jsonio::to_string(
                bj::object{{"jsonrpc", "2.0"},
                           {"id", m.id},
                           {"result", bj::object{}},
                           {"error", bj::object{{"code", 1}, {"message", "x"}}}})};
          case 1:  // neither
            return {jsonio::to_string(bj::object{{"jsonrpc", "2.0"}, {"id", m.id}})};
          case 2:  // jsonrpc missing
            return {jsonio::to_string(bj::object{{"id", m.id}, {"result", tool_result("x")}})};
          case 3:  // a result without content
            return {result_line(m.id, bj::object{{"isError", false}})};
          default:
            return {result_line(m.id, tool_result("fine"))};
        }
      })));
  for (int i = 0; i < 4; ++i) {
    auto e = client_error([&] { client.call_tool("t"); });
    EXPECT_EQ(e.kind(), ClientError::Kind::kMalformedAnswer) << e.what();
  }
  EXPECT_EQ(client.call_tool("t").content.size(), 1u);
}

TEST(ClientCalls, TransportFailureOfOneRequest) {
  // Declared before the client, so released after the client has joined the transport's
  // thread: the exception's reference count lives in libstdc++, which ThreadSanitizer does not
  // see, so a last release on another thread than the one that read the exception would look
  // like a race to it.
  const std::exception_ptr failure = std::make_exception_ptr(mcp::Error(-32600, "HTTP 400: nope"));
  auto t = std::make_unique<ScriptedTransport>(silent_calls());
  auto* raw = t.get();
  mcp::Client client(opts());
  client.connect(std::move(t));
  std::thread failer([&] {
    for (int i = 0; i < 200; ++i) {
      auto sent = raw->sent();
      if (!sent.empty() && sent.back().method == "tools/call") {
        raw->fail(sent.back().id, failure);
        return;
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  try {
    client.call_tool("x", {}, {.timeout = 3s});
    ADD_FAILURE() << "no error";
  } catch (const mcp::Error& e) {
    EXPECT_EQ(e.code(), -32600);
    EXPECT_EQ(std::string(e.what()), "HTTP 400: nope");
  }
  failer.join();
  EXPECT_TRUE(client.connected());
}

TEST(ClientCalls, ConnectionLossFailsEveryCallWithTheReason) {
  auto t = std::make_unique<ScriptedTransport>(silent_calls());
  auto* raw = t.get();
  mcp::Client client(opts());
  client.connect(std::move(t));
  std::thread hang([&] {
    std::this_thread::sleep_for(50ms);
    raw->hangup("server process exited with status 9");
  });
  auto e = client_error([&] { client.call_tool("x"); });
  hang.join();
  EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
  EXPECT_NE(std::string(e.what()).find("server process exited with status 9"), std::string::npos);
  EXPECT_EQ(client.closed_reason(), "server process exited with status 9");
  auto e2 = client_error([&] { client.list_tools(); });
  EXPECT_EQ(e2.kind(), ClientError::Kind::kTransportClosed);
}

TEST(ClientCalls, NotConnectedYet) {
  mcp::Client client(opts());
  auto e = client_error([&] { client.list_tools(); });
  EXPECT_EQ(e.kind(), ClientError::Kind::kNotConnected);
}

TEST(ClientLists, PagingIsBounded) {
  // Cursors without end, and a cursor handed out twice: both fail instead of looping.
  mcp::ClientOptions o = opts();
  o.max_list_pages = 5;
  mcp::Client endless(o);
  std::atomic<int> n{0};
  endless.connect(std::make_unique<ScriptedTransport>(
      legacy_server([&](const OutgoingMessage& m, const bj::object&) -> std::vector<std::string> {
        return {result_line(m.id, bj::object{{"tools", bj::array{bj::object{{"name", "t"}}}},
                                             {"nextCursor", "c" + std::to_string(n++)}})};
      })));
  auto e = client_error([&] { endless.list_tools(); });
  EXPECT_EQ(e.kind(), ClientError::Kind::kMalformedAnswer);
  EXPECT_EQ(n.load(), 5);

  mcp::Client looping(opts());
  looping.connect(std::make_unique<ScriptedTransport>(
      legacy_server([&](const OutgoingMessage& m, const bj::object&) -> std::vector<std::string> {
        return {result_line(m.id, bj::object{{"prompts", bj::array{}}, {"nextCursor", "same"}})};
      })));
  auto e2 = client_error([&] { looping.list_prompts(); });
  EXPECT_NE(std::string(e2.what()).find("same cursor twice"), std::string::npos) << e2.what();

  mcp::Client broken(opts());
  broken.connect(std::make_unique<ScriptedTransport>(legacy_server([&](const OutgoingMessage& m,
                                                                       const bj::object&)
                                                                       -> std::vector<std::string> {
    return {result_line(m.id, bj::object{{"tools", bj::array{bj::object{{"title", "no name"}}}}})};
  })));
  auto e3 = client_error([&] { broken.list_tools(); });
  EXPECT_NE(std::string(e3.what()).find("\"name\" is missing"), std::string::npos) << e3.what();
}

TEST(ClientLists, ToolsWithInvalidHeaderAnnotationsAreLeftOut) {
  // 2026-07-28: a tool whose x-mcp-header annotations break the constraints is left out of
  // list_tools(), the valid ones kept; the legacy era, which mirrors nothing, keeps them all.
  auto prop = [](const char* type, bj::value header) {
    bj::object p{{"type", type}};
    p["x-mcp-header"] = std::move(header);
    return p;
  };
  auto tool = [](const char* name, bj::object props) {
    return bj::object{{"name", name},
                      {"inputSchema", bj::object{{"type", "object"}, {"properties", props}}}};
  };
  const bj::array tools{
      tool("valid", bj::object{{"region", prop("string", "Region")},
                               {"n", prop("integer", "N")},
                               {"on", prop("boolean", "On")},
                               {"plain", bj::object{{"type", "string"}}}}),
      tool("empty", bj::object{{"v", prop("string", "")}}),
      tool("space", bj::object{{"v", prop("string", "My Region")}}),
      tool("colon", bj::object{{"v", prop("string", "Region:Primary")}}),
      tool("non_ascii", bj::object{{"v", prop("string", "R\xc3\xa9gion")}}),
      tool("control", bj::object{{"v", prop("string", "Region\t1")}}),
      tool("not_a_string", bj::object{{"v", prop("string", 7)}}),
      tool("object", bj::object{{"v", prop("object", "Data")}}),
      tool("array", bj::object{{"v", prop("array", "Items")}}),
      tool("null", bj::object{{"v", prop("null", "Nil")}}),
      tool("duplicate",
           bj::object{{"a", prop("string", "MyField")}, {"b", prop("string", "myfield")}}),
  };
  auto script = [&](const OutgoingMessage& m, const bj::object&) -> std::vector<std::string> {
    if (m.method == "tools/list") return {result_line(m.id, bj::object{{"tools", tools}})};
    return {result_line(m.id, tool_result("ok"))};
  };
  auto t = std::make_unique<ScriptedTransport>(modern_server(script),
                                               mcp::TransportKind::kStreamableHttp);
  auto* raw = t.get();
  mcp::Client modern(opts());
  modern.connect(std::move(t));
  auto listed = modern.list_tools();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name, "valid");
  modern.call_tool("valid", {{"region", "eu"}, {"n", 3}, {"on", false}, {"plain", "x"}});
  const auto call = raw->sent().back();
  EXPECT_EQ(call.param_headers, (std::vector<std::pair<std::string, std::string>>{
                                    {"Region", "eu"}, {"N", "3"}, {"On", "false"}}));

  mcp::Client legacy(opts());
  legacy.connect(std::make_unique<ScriptedTransport>(legacy_server(script)));
  EXPECT_EQ(legacy.list_tools().size(), tools.size());
}

TEST(ClientServerRequests, PingUnknownMethodsAndMissingHandlers) {
  std::mutex mu;
  std::vector<bj::object> answers;
  std::condition_variable cv;
  auto t = std::make_unique<ScriptedTransport>(
      [&](const OutgoingMessage& m, const bj::object& o) -> std::vector<std::string> {
        if (m.kind == OutgoingMessage::Kind::kResponse) {
          std::lock_guard lk(mu);
          answers.push_back(o);
          cv.notify_all();
          return {};
        }
        return legacy_server([](const OutgoingMessage& x, const bj::object&) {
          return std::vector<std::string>{result_line(x.id, bj::object{})};
        })(m, o);
      });
  auto* raw = t.get();
  mcp::Client client(opts());
  client.connect(std::move(t));
  raw->push(R"({"jsonrpc":"2.0","id":"a","method":"ping"})");
  raw->push(R"({"jsonrpc":"2.0","id":"b","method":"no/such"})");
  raw->push(R"({"jsonrpc":"2.0","id":"c","method":"sampling/createMessage","params":{}})");
  std::unique_lock lk(mu);
  ASSERT_TRUE(cv.wait_for(lk, 5s, [&] { return answers.size() == 3; }));
  std::map<std::string, bj::object> by_id;
  for (auto& a : answers) by_id[std::string(a.at("id").as_string())] = a;
  EXPECT_EQ(jsonio::to_string(by_id["a"].at("result")), "{}");
  EXPECT_EQ(by_id["b"].at("error").at("code"), -32601);
  EXPECT_EQ(by_id["c"].at("error").at("code"), -32601);
  EXPECT_NE(
      std::string(by_id["c"].at("error").at("message").as_string()).find("no sampling handler"),
      std::string::npos);
}

}  // namespace
