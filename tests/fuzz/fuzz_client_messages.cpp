// mcp::Client on arbitrary server output: whatever a server sends (answers with unknown,
// duplicate or wrong-typed ids, malformed JSON-RPC, notifications of every kind with wrong
// params, server requests with bad params, huge or deep values), delivered through an
// in-process transport while the client has calls pending. Properties: no crash or undefined
// behaviour (ASan/UBSan); every pending call ends with an answer or an mcp::Error (nothing
// else escapes) within its deadline plus a margin; once the calls ended, none is left in the
// client's table of pending calls; memory stays bounded (libFuzzer's -rss_limit_mb).
//
// Input: byte 0: bit 0 the era the fake server speaks (0: 2025-11-25, 1: 2026-07-28); bit 1
// registers elicitation, sampling and roots handlers; bit 2 lets the calls run into their
// deadline instead of hanging up after the last line; bit 3 cancels the third call after the
// lines. The rest: lines, each one message from the server, in which "$0", "$1", "$2" stand for
// the JSON-RPC ids of the three pending calls (tools/call, tools/list, resources/read, in the
// order they were sent). A line "!hangup" ends the connection there.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fuzz_util.hpp"
#include "mcp/client.hpp"
#include "test_transports.hpp"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using client_test::error_line;
using client_test::result_line;
using client_test::ScriptedTransport;

// The handshake of either era; requests after it go unanswered (the input answers them).
ScriptedTransport::Script handshake(bool modern) {
  return [modern](const mcp::OutgoingMessage& m, const bj::object& o) -> std::vector<std::string> {
    if (m.method == "subscriptions/listen") {
      // 2026-07-28: the stream of list_changed notifications, opened at connect() for the
      // handlers below, is acknowledged at once.
      bj::object ack;
      if (const auto* p = o.if_contains("params"); p && p->is_object())
        if (const auto* n = p->as_object().if_contains("notifications")) ack["notifications"] = *n;
      ack["_meta"] = bj::object{{"io.modelcontextprotocol/subscriptionId", m.id}};
      return {jsonio::to_string(bj::object{{"jsonrpc", "2.0"},
                                           {"method", "notifications/subscriptions/acknowledged"},
                                           {"params", std::move(ack)}})};
    }
    if (m.method == "server/discover") {
      if (!modern) return {error_line(m.id, -32601, "Method not found")};
      return {
          result_line(m.id, bj::object{{"resultType", "complete"},
                                       {"supportedVersions", bj::array{"2026-07-28", "2025-11-25"}},
                                       {"capabilities", bj::object{{"tools", bj::object{}},
                                                                   {"resources", bj::object{}},
                                                                   {"prompts", bj::object{}}}}})};
    }
    if (m.method == "initialize")
      return {result_line(
          m.id, bj::object{{"protocolVersion", "2025-11-25"},
                           {"capabilities", bj::object{{"tools", bj::object{}},
                                                       {"resources", bj::object{}},
                                                       {"logging", bj::object{}}}},
                           {"serverInfo", bj::object{{"name", "fuzz"}, {"version", "1"}}}})};
    return {};
  };
}

// Call deadlines, and the margin a call may take beyond its deadline (sanitizers, a loaded
// machine) before it counts as stuck.
constexpr auto kShortDeadline = 30ms;
constexpr auto kLongDeadline = 5000ms;
constexpr auto kMargin = 2000ms;

struct CallRun {
  std::thread thread;
  std::chrono::milliseconds deadline{};
  std::atomic<bool> done{false};
  std::atomic<bool> stray_exception{false};
  std::chrono::steady_clock::duration took{};
};

template <class F>
void run_call(CallRun& c, F f) {
  c.thread = std::thread([&c, f] {
    const auto t0 = std::chrono::steady_clock::now();
    try {
      f();
    } catch (const mcp::Error&) {
      // the server's error or a ClientError: an ending
    } catch (...) {
      c.stray_exception = true;
    }
    c.took = std::chrono::steady_clock::now() - t0;
    c.done = true;
  });
}

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= s.size() && out.size() < 256) {
    std::size_t nl = s.find('\n', at);
    if (nl == std::string_view::npos) nl = s.size();
    if (nl > at) out.emplace_back(s.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t flags = data[0];
  const bool modern = (flags & 1) != 0;
  const bool handlers = (flags & 2) != 0;
  const bool run_out = (flags & 4) != 0;
  const bool cancel_third = (flags & 8) != 0;
  const std::vector<std::string> lines = split_lines(as_view(data + 1, size - 1));

  mcp::ClientOptions o;
  o.versions = modern ? mcp::VersionNegotiation::kModern : mcp::VersionNegotiation::kLegacy;
  o.request_timeout = 2000ms;  // what the client sends by itself (subscriptions/listen)
  o.max_message_bytes = 4096;
  o.max_json_depth = 16;
  o.max_queued_notifications = 16;
  o.max_queued_server_requests = 4;
  o.handler_threads = 1;
  o.max_input_rounds = 2;
  o.max_list_pages = 4;
  o.min_poll_interval = 1ms;
  o.max_poll_interval = 5ms;
  mcp::Client client(o);
  if (handlers) {
    client.on_elicitation(
        [](const mcp::ElicitationRequest&) { return mcp::ElicitationResult{.action = "decline"}; });
    client.on_sampling([](const mcp::SamplingRequest&) {
      return mcp::SamplingResult{.content = mcp::text_content("x"), .model = "m"};
    });
    client.on_roots([] { return std::vector<mcp::Root>{{.uri = "file:///r", .name = "r"}}; });
  }
  client.on_log([](const mcp::LogMessage&) {});
  client.on_tools_list_changed([] {});
  client.on_resource_updated([](const std::string&) {});
  client.on_notification([](const std::string&, const bj::object&) {});

  auto t = std::make_unique<ScriptedTransport>(handshake(modern));
  ScriptedTransport* raw = t.get();
  try {
    client.connect(std::move(t));
  } catch (const mcp::Error&) {
    return 0;  // the fixed handshake never fails; nothing to fuzz without it
  }
  const std::size_t sent_before = raw->sent().size();

  const auto deadline = run_out ? kShortDeadline : kLongDeadline;
  mcp::CancellationToken cancel;
  CallRun calls[3];
  for (auto& c : calls) c.deadline = deadline;
  run_call(calls[0], [&] {
    client.call_tool("t", bj::object{{"a", 1}},
                     {.timeout = deadline, .on_progress = [](const mcp::Progress&) {}});
  });
  // Sent one after the other, so that $0, $1, $2 name them in this order.
  auto wait_sent = [&](std::size_t n) {
    for (int i = 0; i < 20000 && raw->sent().size() < sent_before + n; ++i)
      std::this_thread::sleep_for(100us);
  };
  wait_sent(1);
  run_call(calls[1], [&] { client.list_tools({.timeout = deadline}); });
  wait_sent(2);
  run_call(calls[2],
           [&] { client.read_resource("r://x", {.timeout = deadline, .cancellation = &cancel}); });
  wait_sent(3);

  std::vector<std::string> ids;
  for (const auto& m : raw->sent())
    if (m.kind == mcp::OutgoingMessage::Kind::kRequest && !m.id.is_null())
      ids.push_back(jsonio::to_string(m.id));
  // The last three requests are the calls (the handshake's came first).
  const auto skip = static_cast<std::ptrdiff_t>(ids.size() - std::min<std::size_t>(3, ids.size()));
  const std::vector<std::string> call_ids(ids.begin() + skip, ids.end());
  for (std::string line : lines) {
    if (line == "!hangup") {
      raw->hangup("the fuzz server hung up");
      break;
    }
    for (std::size_t i = 0; i < call_ids.size(); ++i)
      replace_all(line, "$" + std::to_string(i), call_ids[i]);
    raw->push(std::move(line));
  }
  if (cancel_third) cancel.cancel();
  if (!run_out) raw->hangup("the fuzz server hung up");

  for (auto& c : calls) {
    c.thread.join();
    FUZZ_CHECK(!c.stray_exception, "a call ends in its answer or an mcp::Error");
    FUZZ_CHECK(c.took <= c.deadline + kMargin, "a call ends within its deadline");
  }
  FUZZ_CHECK(client.stats().pending_requests == 0, "no call left pending once every call ended");
  client.close();
  FUZZ_CHECK(!client.connected(), "close() ends the connection");
  return 0;
}
