// A fake MCP server over stdio that misbehaves on purpose, for the client's bad-input tests.
// It answers server/discover with -32601 and initialize properly (a legacy server), then
// follows its mode for tools/call:
//   ok             answers {"content":[{"type":"text","text":"ok"}]}
//   garbage        first writes lines that are not JSON-RPC, then answers
//   wrong-id       answers with an id nobody asked for (and never with the right one)
//   silent         never answers
//   flood          writes N (argv[2], default 100000) notifications/message, then answers
//   exit           exits with status 3 without answering
//   mid-message    writes half an answer, then exits with status 0
//   malformed      answers with a result that is not an object, then with an error without a
//                  code, then properly
//   huge-line      writes one line of argv[2] bytes (default 8 MiB), then answers
//   stubborn       like silent, and ignores SIGTERM and EOF on stdin (close() must SIGKILL it)
//   requests       sends N (argv[2], default 500) elicitation/create requests at once, then
//                  answers the call once they are all answered
// Every mode writes a line to stderr first ("fake-server: MODE").
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "jsonio/json_text.hpp"

namespace bj = boost::json;

namespace {

void out(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void answer(const bj::value& id, bj::value result) {
  out(jsonio::to_string(bj::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}));
}

bj::object text_result(const char* text) {
  return bj::object{{"content", bj::array{bj::object{{"type", "text"}, {"text", text}}}}};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "ok";
  const long n = argc > 2 ? std::atol(argv[2]) : 0;
  std::fprintf(stderr, "fake-server: %s\n", mode.c_str());
  std::fprintf(stderr, "fake-server: a second line of stderr\n");
  std::fflush(stderr);
  if (mode == "stubborn") signal(SIGTERM, SIG_IGN);

  std::string line;
  long answered_requests = 0, wanted_requests = 0;
  bj::value pending_call = nullptr;
  while (std::getline(std::cin, line)) {
    std::error_code ec;
    bj::value msg = jsonio::parse(line, ec);
    if (ec || !msg.is_object()) continue;
    const auto& o = msg.as_object();
    const bj::value* id = o.if_contains("id");
    const auto* method = o.if_contains("method");
    if (!method) {  // an answer to one of our requests
      if (++answered_requests == wanted_requests && !pending_call.is_null())
        answer(pending_call, text_result("all answered"));
      continue;
    }
    const std::string m(method->as_string());
    if (!id) continue;  // notifications
    if (m == "server/discover") {
      out(jsonio::to_string(
          bj::object{{"jsonrpc", "2.0"},
                     {"id", *id},
                     {"error", bj::object{{"code", -32601}, {"message", "Method not found"}}}}));
    } else if (m == "initialize") {
      answer(*id, bj::object{{"protocolVersion", "2025-11-25"},
                             {"capabilities", bj::object{{"tools", bj::object{}}}},
                             {"serverInfo", bj::object{{"name", "fake"}, {"version", "0"}}}});
    } else if (m == "ping") {
      answer(*id, bj::object{});
    } else if (m != "tools/call") {
      out(jsonio::to_string(
          bj::object{{"jsonrpc", "2.0"},
                     {"id", *id},
                     {"error", bj::object{{"code", -32601}, {"message", "Method not found"}}}}));
    } else if (mode == "ok") {
      answer(*id, text_result("ok"));
    } else if (mode == "garbage") {
      out("this is not json");
      out("{\"unterminated\": ");
      out("[1,2,3]");
      out("{\"jsonrpc\":\"2.0\"}");
      out("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}");
      out(std::string(200, '[') + std::string(200, ']'));  // too deep
      out("\x01\x02\xff\xfe");
      answer(*id, text_result("ok"));
    } else if (mode == "wrong-id") {
      answer(bj::value(id->is_int64() ? id->as_int64() + 1000 : 999999), text_result("ok"));
    } else if (mode == "silent" || mode == "stubborn") {
      // nothing
    } else if (mode == "flood") {
      const long count = n > 0 ? n : 100000;
      for (long i = 0; i < count; ++i)
        out(jsonio::to_string(bj::object{
            {"jsonrpc", "2.0"},
            {"method", "notifications/message"},
            {"params", bj::object{{"level", "info"}, {"data", "flood " + std::to_string(i)}}}}));
      answer(*id, text_result("ok"));
    } else if (mode == "exit") {
      std::exit(3);
    } else if (mode == "mid-message") {
      std::string half = "{\"jsonrpc\":\"2.0\",\"id\":" + jsonio::to_string(*id) + ",\"resu";
      std::fwrite(half.data(), 1, half.size(), stdout);
      std::fflush(stdout);
      std::exit(0);
    } else if (mode == "malformed") {
      static int round = 0;
      if (round == 0)
        answer(*id, bj::value(42));
      else if (round == 1)
        out(jsonio::to_string(
            bj::object{{"jsonrpc", "2.0"}, {"id", *id}, {"error", bj::object{{"code", "x"}}}}));
      else
        answer(*id, text_result("ok"));
      ++round;
    } else if (mode == "huge-line") {
      const long bytes = n > 0 ? n : (8 << 20);
      std::string big =
          "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\"";
      big.append(static_cast<std::size_t>(bytes), 'x');
      big += "\"}}";
      out(big);
      answer(*id, text_result("ok"));
    } else if (mode == "requests") {
      wanted_requests = n > 0 ? n : 500;
      pending_call = *id;
      for (long i = 0; i < wanted_requests; ++i)
        out(jsonio::to_string(bj::object{
            {"jsonrpc", "2.0"},
            {"id", "q" + std::to_string(i)},
            {"method", "elicitation/create"},
            {"params", bj::object{{"message", "question " + std::to_string(i)},
                                  {"requestedSchema", bj::object{{"type", "object"}}}}}}));
    }
  }
  if (mode == "stubborn")
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  return 0;
}
