// serve_stdio over pipes: pipelining, out-of-order answers, EOF handling.
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "jsonio/json_text.hpp"
#include "mcp/stdio.hpp"

namespace {

struct Delay {
  int ms = 0;
  std::string tag;
};
BOOST_DESCRIBE_STRUCT(Delay, (), (ms, tag))

TEST(Stdio, PipelinedRequestsAnswerOutOfOrderAndExitOnEof) {
  mcp::Server server({.worker_threads = 4});
  server.tool<Delay>({.name = "delay", .description = ""}, [](const Delay& d, mcp::ToolContext&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(d.ms));
    return d.tag;
  });
  int in[2], out[2];
  ASSERT_EQ(pipe(in), 0);
  ASSERT_EQ(pipe(out), 0);
  std::thread t([&] {
    mcp::serve_stdio(server, {.in_fd = in[0], .out_fd = out[1], .log_to_stderr = false});
    close(out[1]);
  });
  std::string reqs =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delay","arguments":{"ms":300,"tag":"slow"}}})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delay","arguments":{"ms":0,"tag":"fast"}}})"
      "\n{not json}\n"
      R"({"jsonrpc":"2.0","method":"notifications/initialized"})"
      "\n";
  ASSERT_EQ(write(in[1], reqs.data(), reqs.size()), static_cast<ssize_t>(reqs.size()));
  close(in[1]);  // EOF: the server drains running calls, then returns
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;)
    all.append(buf, static_cast<std::size_t>(n));
  t.join();
  close(in[0]);
  close(out[0]);
  std::vector<boost::json::value> msgs;
  for (std::size_t p = 0, nl; (nl = all.find('\n', p)) != std::string::npos; p = nl + 1)
    msgs.push_back(jsonio::parse_or_throw(std::string_view(all).substr(p, nl - p)));
  ASSERT_EQ(msgs.size(), 3u) << all;
  // The parse error and the fast call are answered before the slow one.
  EXPECT_EQ(msgs[2].at("id").as_int64(), 1);
  EXPECT_EQ(msgs[2].at("result").at("content").at(0).at("text").as_string(), "slow");
  bool saw_parse_error = false, saw_fast = false;
  for (int i = 0; i < 2; ++i) {
    if (msgs[i].at("id").is_null())
      saw_parse_error = msgs[i].at("error").at("code").as_int64() == -32700;
    else
      saw_fast = msgs[i].at("id").as_int64() == 2;
  }
  EXPECT_TRUE(saw_parse_error);
  EXPECT_TRUE(saw_fast);
}

}  // namespace
