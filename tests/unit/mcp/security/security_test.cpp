// The SDK's defences against hostile clients (ctest labels unit and security): fair scheduling
// and bounded queues per caller, call deadlines, what error texts may say, and the HTTP
// transport's limits (sessions per principal and per peer, reaping of sessions never used,
// session owners on GET/DELETE, header deadline, connection cap, Host checks).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "jsonio/json_text.hpp"
#include "mcp/deadline_timer.hpp"
#include "mcp/http.hpp"
#include "mcp/serve.hpp"
#include "mcp/server.hpp"
#include "mcp/worker_pool.hpp"
#include "unit/recording_outbound.hpp"

namespace {

namespace bj = boost::json;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using namespace std::chrono_literals;

bj::value J(std::string_view s) {
  return jsonio::parse_or_throw(s);
}

// Opens when released; jobs and handlers wait on it (bounded, so a failing test ends).
class Gate {
 public:
  void open() {
    {
      std::lock_guard lk(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds t = 10s) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, t, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Waits until `pred` holds (polling), at most `t`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds t = 5s) {
  const auto until = std::chrono::steady_clock::now() + t;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The fair queue

TEST(McpFairQueue, CallersTakeTurns) {
  mcp::WorkerPool pool({.threads = 1, .max_running_per_key = 1});
  Gate gate;
  std::mutex mu;
  std::vector<std::string> order;
  auto job = [&](std::string tag) {
    return [&, tag] {
      std::lock_guard lk(mu);
      order.push_back(tag);
    };
  };
  // The one thread is held while A queues three jobs and B three: then they alternate.
  ASSERT_EQ(pool.submit("gate", [&] { gate.wait(); }), mcp::WorkerPool::Submitted::kQueued);
  for (const char* tag : {"a1", "a2", "a3"}) pool.submit("A", job(tag));
  for (const char* tag : {"b1", "b2", "b3"}) pool.submit("B", job(tag));
  gate.open();
  ASSERT_TRUE(pool.wait_idle(5s));
  EXPECT_EQ(order, (std::vector<std::string>{"a1", "b1", "a2", "b2", "a3", "b3"}));
}

TEST(McpFairQueue, OneCallerCannotTakeEveryWorker) {
  mcp::WorkerPool pool({.threads = 2, .max_running_per_key = 1});
  Gate gate;
  std::atomic<int> hostile_running{0};
  for (int i = 0; i < 4; ++i)
    pool.submit("hostile", [&] {
      ++hostile_running;
      gate.wait();
      --hostile_running;
    });
  std::atomic<bool> served{false};
  pool.submit("other", [&] { served = true; });
  EXPECT_TRUE(eventually([&] { return served.load(); }));
  EXPECT_EQ(hostile_running.load(), 1);  // the cap, not both workers
  gate.open();
  EXPECT_TRUE(pool.wait_idle(5s));

  // A caller submitting uncapped (stdio's one client) may use every worker.
  Gate gate2;
  std::atomic<int> running{0};
  for (int i = 0; i < 2; ++i)
    pool.submit(
        "stdio",
        [&] {
          ++running;
          gate2.wait();
        },
        /*capped=*/false);
  EXPECT_TRUE(eventually([&] { return running.load() == 2; }));
  gate2.open();
  EXPECT_TRUE(pool.wait_idle(5s));
}

TEST(McpFairQueue, QueuesAreBoundedPerCallerAndOverall) {
  mcp::WorkerPool pool(
      {.threads = 1, .max_queued = 3, .max_queued_per_key = 2, .max_running_per_key = 1});
  Gate gate;
  std::atomic<bool> started{false};
  using S = mcp::WorkerPool::Submitted;
  ASSERT_EQ(pool.submit("A",
                        [&] {
                          started = true;
                          gate.wait();
                        }),
            S::kQueued);
  ASSERT_TRUE(eventually([&] { return started.load(); }));  // running: no longer queued
  EXPECT_EQ(pool.submit("A", [] {}), S::kQueued);
  EXPECT_EQ(pool.submit("A", [] {}), S::kQueued);
  EXPECT_EQ(pool.submit("A", [] {}), S::kKeyFull);  // A's own bound
  EXPECT_EQ(pool.submit("B", [] {}), S::kQueued);   // others still get in
  EXPECT_EQ(pool.submit("C", [] {}), S::kPoolFull);
  gate.open();
  EXPECT_TRUE(pool.wait_idle(5s));
  EXPECT_EQ(pool.busy(), 0u);
}

TEST(McpFairQueue, AWithdrawnJobGivesItsPlaceBackAndNeverRuns) {
  mcp::WorkerPool pool({.threads = 1, .max_queued_per_key = 2, .max_running_per_key = 1});
  using S = mcp::WorkerPool::Submitted;
  Gate gate;
  std::atomic<bool> started{false}, ran{false};
  pool.submit("A", [&] {
    started = true;
    gate.wait();
  });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  std::shared_ptr<mcp::WorkerPool::Ticket> ticket;
  ASSERT_EQ(pool.submit(
                "A", [&] { ran = true; }, true, &ticket),
            S::kQueued);
  EXPECT_EQ(pool.submit("A", [] {}), S::kQueued);
  EXPECT_EQ(pool.submit("A", [] {}), S::kKeyFull);
  EXPECT_TRUE(pool.withdraw(ticket));
  EXPECT_FALSE(pool.withdraw(ticket));  // once
  EXPECT_EQ(pool.submit("A", [] {}), S::kQueued);
  gate.open();
  EXPECT_TRUE(pool.wait_idle(5s));
  EXPECT_FALSE(ran);
  EXPECT_EQ(pool.busy(), 0u);
}

TEST(McpDeadline, TheTimerRunsWhatIsDueAndNothingCancelled) {
  mcp::detail::DeadlineTimer timer;
  std::atomic<int> fired{0};
  std::optional<mcp::detail::DeadlineTimer::Key> keep, drop;
  auto now = mcp::detail::DeadlineTimer::Clock::now();
  timer.schedule(
      now + 30ms, [&] { fired += 1; }, keep);
  timer.schedule(
      now + 10ms, [&] { fired += 100; }, drop);
  ASSERT_TRUE(keep && drop);
  timer.cancel(*drop);
  EXPECT_TRUE(eventually([&] { return fired.load() != 0; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(fired.load(), 1);
  EXPECT_EQ(timer.pending(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Deadlines and callers through the server

using Capture = test_support::RecordingOutbound;

struct NoArgs {};
BOOST_DESCRIBE_STRUCT(NoArgs, (), ())

const char* kMeta =
    R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}})";

std::string tool_call(const std::string& id, const std::string& name, bool modern = false) {
  return R"({"jsonrpc":"2.0","id":")" + id + R"(","method":"tools/call","params":{"name":")" +
         name + R"(","arguments":{})" + (modern ? std::string(",") + kMeta : "") + "}}";
}

std::shared_ptr<Capture> handle(mcp::Server& server, const std::shared_ptr<mcp::Session>& session,
                                const std::string& text, mcp::MessageInfo info = {}) {
  auto out = std::make_shared<Capture>();
  server.handle(session, J(text), out, info);
  return out;
}

TEST(McpDeadline, ACallPastItsDeadlineIsAnsweredAtOnceAndCancelled) {
  mcp::Server server({.worker_threads = 2, .call_timeout = 200ms});
  std::atomic<bool> saw_cancel{false}, returned{false};
  server.tool<NoArgs>({.name = "spin", .description = ""},
                      [&](const NoArgs&, mcp::ToolContext& ctx) {
                        for (int i = 0; i < 2000 && !ctx.cancelled(); ++i)
                          std::this_thread::sleep_for(5ms);
                        saw_cancel = ctx.cancelled();
                        returned = true;
                        return std::string("finished anyway");
                      });
  server.resource_template({.uri_template = "slow://{id}", .name = "slow"},
                           [](const std::string& uri, const std::map<std::string, std::string>&,
                              mcp::RequestContext& ctx) {
                             for (int i = 0; i < 2000 && !ctx.cancelled(); ++i)
                               std::this_thread::sleep_for(5ms);
                             return mcp::ReadResourceResult{{{.uri = uri, .text = "late"}}};
                           });
  auto session = std::make_shared<mcp::Session>("s1", mcp::TransportKind::kInMemory);
  server.attach(session);

  // tools/call: an isError result, sent before the handler has even noticed.
  auto out = std::make_shared<Capture>();
  bool handler_returned_at_answer = true;
  out->on_respond = [&] { handler_returned_at_answer = returned.load(); };
  server.handle(session, J(tool_call("1", "spin")), out);
  ASSERT_TRUE(out->wait());
  const auto& r = out->response.at("result");
  EXPECT_TRUE(r.at("isError").as_bool());
  EXPECT_EQ(r.at("content").at(0).at("text").as_string(),
            "The request exceeded its deadline of 0.2 s and was cancelled");
  EXPECT_FALSE(handler_returned_at_answer);
  EXPECT_TRUE(eventually([&] { return returned.load(); }));
  EXPECT_TRUE(saw_cancel);
  EXPECT_TRUE(server.wait_idle(5s));  // the worker is free again

  // The same in the modern era: a complete result.
  returned = false;
  auto modern = handle(server, session, tool_call("2", "spin", true));
  ASSERT_TRUE(modern->wait());
  EXPECT_EQ(modern->response.at("result").at("resultType").as_string(), "complete");
  EXPECT_TRUE(modern->response.at("result").at("isError").as_bool());

  // Other methods: a JSON-RPC error.
  auto read =
      handle(server, session,
             R"({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"slow://x"}})");
  ASSERT_TRUE(read->wait());
  EXPECT_EQ(read->response.at("error").at("code").as_int64(), -32603);
  EXPECT_NE(std::string(read->response.at("error").at("message").as_string()).find("deadline"),
            std::string::npos);
  EXPECT_TRUE(server.wait_idle(5s));
  server.detach(session);
}

TEST(McpCallerKeys, OneCallersBacklogAnswersBusyAndLeavesOthersServed) {
  mcp::Server server({.worker_threads = 2, .max_queued_per_caller = 2});
  Gate gate;
  std::atomic<int> blocked{0};
  server.tool<NoArgs>({.name = "block", .description = ""}, [&](const NoArgs&, mcp::ToolContext&) {
    ++blocked;
    gate.wait();
    return std::string("released");
  });
  server.tool<NoArgs>({.name = "quick", .description = ""},
                      [](const NoArgs&, mcp::ToolContext&) { return std::string("quick"); });
  auto hostile = std::make_shared<mcp::Session>("hostile", mcp::TransportKind::kInMemory);
  auto other = std::make_shared<mcp::Session>("other", mcp::TransportKind::kInMemory);
  server.attach(hostile);
  server.attach(other);
  // One runs (half of two workers), two wait, the fourth is refused.
  std::vector<std::shared_ptr<Capture>> outs;
  outs.push_back(handle(server, hostile, tool_call("h0", "block")));
  ASSERT_TRUE(eventually([&] { return blocked.load() == 1; }));
  for (int i = 1; i < 3; ++i)
    outs.push_back(handle(server, hostile, tool_call("h" + std::to_string(i), "block")));
  auto refused = handle(server, hostile, tool_call("h3", "block"));
  ASSERT_TRUE(refused->wait(5s));
  EXPECT_EQ(refused->response.at("error").at("code").as_int64(), -32603);
  EXPECT_EQ(refused->response.at("error").at("message").as_string(),
            "Server busy: too many queued requests from this caller");
  // A waiting call its client cancels leaves the queue at once, giving its place back.
  handle(server, hostile,
         R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"h2"}})");
  ASSERT_TRUE(outs[2]->wait(5s));
  EXPECT_TRUE(outs[2]->response.is_null());  // abandoned, not answered
  outs[2] = handle(server, hostile, tool_call("h4", "block"));
  EXPECT_FALSE(outs[2]->wait(0ms));  // queued (a refusal is answered before handle() returns)
  // Another caller is served at once on the worker the hostile one may not take.
  auto quick = handle(server, other, tool_call("o1", "quick"));
  ASSERT_TRUE(quick->wait(5s));
  EXPECT_EQ(quick->response.at("result").at("content").at(0).at("text").as_string(), "quick");
  EXPECT_EQ(blocked.load(), 1);
  gate.open();
  for (auto& o : outs) {
    ASSERT_TRUE(o->wait());
    EXPECT_EQ(o->response.at("result").at("content").at(0).at("text").as_string(), "released");
  }
  EXPECT_TRUE(server.wait_idle(5s));
  server.detach(hostile);
  server.detach(other);
}

TEST(McpCallerKeys, HandlersSeeThePeerAddress) {
  mcp::Server server({.worker_threads = 2});
  server.tool<NoArgs>({.name = "peer", .description = ""},
                      [](const NoArgs&, mcp::ToolContext& ctx) { return ctx.peer_address(); });
  auto stateless = std::make_shared<mcp::Session>("", mcp::TransportKind::kStreamableHttp, true);
  mcp::MessageInfo info;
  info.modern_http = true;
  info.peer_address = "203.0.113.9";
  auto out = handle(server, stateless, tool_call("1", "peer", true), info);
  ASSERT_TRUE(out->wait());
  EXPECT_EQ(out->response.at("result").at("content").at(0).at("text").as_string(), "203.0.113.9");
  auto stdio = std::make_shared<mcp::Session>("p", mcp::TransportKind::kStdio);
  out = handle(server, stdio, tool_call("2", "peer"));
  ASSERT_TRUE(out->wait());
  EXPECT_EQ(out->response.at("result").at("content").at(0).at("text").as_string(), "");
}

// ---------------------------------------------------------------------------------------------
// What error texts may say

TEST(McpErrorText, HandlerExceptionsAnswerAGenericInternalError) {
  mcp::Server server({.worker_threads = 1});
  // Boost.JSON's exceptions name the header and line they come from.
  server.tool<NoArgs>({.name = "json_bug", .description = ""},
                      [](const NoArgs&, mcp::ToolContext&) -> std::string {
                        bj::value v = bj::object{};
                        return std::string(v.at("missing").as_string());
                      });
  server.resource_template({.uri_template = "bug://{id}", .name = "bug"},
                           [](const std::string&, const std::map<std::string, std::string>&,
                              mcp::RequestContext&) -> mcp::ReadResourceResult {
                             throw std::runtime_error("/srv/app/secret_path.cpp:42 exploded");
                           });
  auto session = std::make_shared<mcp::Session>("s", mcp::TransportKind::kInMemory);
  auto out = handle(server, session, tool_call("1", "json_bug"));
  ASSERT_TRUE(out->wait());
  const auto& r = out->response.at("result");
  EXPECT_TRUE(r.at("isError").as_bool());
  EXPECT_EQ(r.at("content").at(0).at("text").as_string(), "Internal error");
  out = handle(server, session,
               R"({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"bug://1"}})");
  ASSERT_TRUE(out->wait());
  EXPECT_EQ(jsonio::to_string(out->response.at("error")),
            R"({"code":-32603,"message":"Internal error"})");
}

enum class Mode { fast, slow };
BOOST_DESCRIBE_ENUM(Mode, fast, slow)
struct ModeArgs {
  Mode mode = Mode::fast;
};
BOOST_DESCRIBE_STRUCT(ModeArgs, (), (mode))

TEST(McpErrorText, ValidationMessagesNameTheRuleNotTheValue) {
  const std::string secret = "sk-live-0123456789";
  // Raw schema.
  auto schema = J(
      R"({"type":"object","properties":{"mode":{"enum":["fast","slow"]}},"additionalProperties":false})");
  std::string err = mcp::validate(schema, bj::object{{"mode", secret}});
  EXPECT_EQ(err, R"(arguments.mode: must be one of ["fast","slow"])");
  // Typed arguments.
  ModeArgs a;
  EXPECT_FALSE(mcp::from_json(bj::object{{"mode", secret}}, a, err));
  EXPECT_EQ(err, R"(arguments.mode: must be one of ["fast","slow"])");
  // A huge property name is not echoed whole.
  const std::string key(10000, 'k');
  err = mcp::validate(schema, bj::object{{key, 1}});
  EXPECT_EQ(err, "arguments: unexpected property \"" + std::string(64, 'k') + "...\"");
}

// ---------------------------------------------------------------------------------------------
// The HTTP transport

// A client connection whose blocking reads end within `limit`: then a watchdog shuts the
// socket down and records it, so that a test of a server that never answers fails instead of
// hanging (Asio's blocking reads wait through SO_RCVTIMEO).
class Conn {
 public:
  Conn(boost::asio::io_context& ioc, std::uint16_t port, std::chrono::milliseconds limit = 5s)
      : s(ioc) {
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    dog_ = std::jthread([this, limit](const std::stop_token& stop) {
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lk(m);
      cv.wait_for(lk, stop, limit, [] { return false; });
      if (stop.stop_requested()) return;
      timed_out = true;
      ::shutdown(s.native_handle(), SHUT_RDWR);
    });
  }
  tcp::socket s;
  std::atomic<bool> timed_out{false};  // the watchdog ended the connection

 private:
  std::jthread dog_;  // declared last: stopped and joined before the socket closes
};

using Headers = std::vector<std::pair<std::string, std::string>>;

http::response<http::string_body> request(tcp::socket& sock, http::verb verb, std::uint16_t port,
                                          const Headers& headers, std::string body = {}) {
  http::request<http::string_body> req{verb, "/mcp", 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json, text/event-stream");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.prepare_payload();
  http::write(sock, req);
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  return res;
}

const char* kInit =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";

mcp::AuthOptions two_users() {
  return mcp::AuthOptions{.verify = [](std::string_view t) -> std::optional<mcp::Principal> {
    if (t == "alice-token") return mcp::Principal{.subject = "alice"};
    if (t == "bob-token") return mcp::Principal{.subject = "bob"};
    return std::nullopt;
  }};
}

// Starts an HttpServer and talks to it over fresh loopback connections.
struct Site {
  explicit Site(mcp::HttpOptions opt) : server({.worker_threads = 2}), httpd(server, opt) {
    server.tool<NoArgs>({.name = "peer", .description = ""},
                        [](const NoArgs&, mcp::ToolContext& ctx) { return ctx.peer_address(); });
    httpd.start();
  }
  ~Site() { httpd.stop(); }
  http::response<http::string_body> send(http::verb verb, const Headers& h, std::string body = {}) {
    Conn c(ioc, httpd.port());
    return request(c.s, verb, httpd.port(), h, std::move(body));
  }
  // initialize as `token` (empty: anonymous); the session id, or the status if refused.
  std::string init(const std::string& token = {}) {
    Headers h;
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    auto r = send(http::verb::post, h, kInit);
    if (r.result_int() != 200) return std::to_string(r.result_int());
    return std::string(r["Mcp-Session-Id"]);
  }
  static Headers in_session(const std::string& sid, const std::string& token = {}) {
    Headers h{{"Mcp-Session-Id", sid}, {"MCP-Protocol-Version", "2025-11-25"}};
    if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
    return h;
  }
  int ping(const std::string& sid, const std::string& token = {}) {
    return send(http::verb::post, in_session(sid, token),
                R"({"jsonrpc":"2.0","id":9,"method":"ping"})")
        .result_int();
  }
  boost::asio::io_context ioc;
  mcp::Server server;
  mcp::HttpServer httpd;
};

TEST(McpHttpSecurity, AnyHostIsAnExplicitOptionNotAStar) {
  mcp::Server server({.worker_threads = 1});
  for (int which = 0; which < 2; ++which) {
    mcp::HttpOptions opt;
    (which == 0 ? opt.allowed_hosts : opt.allowed_origins).push_back("*");
    mcp::HttpServer httpd(server, opt);
    try {
      httpd.start();
      ADD_FAILURE() << "a \"*\" entry was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("allow_any_host"), std::string::npos) << e.what();
    }
  }
  mcp::HttpOptions open;
  open.allow_any_host = true;
  Site site(open);
  EXPECT_EQ(site.send(http::verb::post, {{"Host", "rebound.example"}}, kInit).result_int(), 200);
  mcp::HttpOptions strict;
  Site guarded(strict);
  EXPECT_EQ(guarded.send(http::verb::post, {{"Host", "rebound.example"}}, kInit).result_int(), 403);

  const char* argv[] = {"prog", "--transport", "http", "--allow-any-host"};
  auto cfg = mcp::TransportConfig::from_flags(4, const_cast<char**>(argv));
  EXPECT_TRUE(cfg.http.allow_any_host);
}

TEST(McpHttpSecurity, SessionsAreBoundedPerPrincipal) {
  mcp::HttpOptions opt;
  opt.auth = two_users();
  opt.max_sessions_per_principal = 2;
  Site site(opt);
  std::string a1 = site.init("alice-token"), a2 = site.init("alice-token");
  ASSERT_EQ(a1.size(), 32u);
  ASSERT_EQ(a2.size(), 32u);
  auto over = site.send(http::verb::post, {{"Authorization", "Bearer alice-token"}}, kInit);
  EXPECT_EQ(over.result_int(), 503);
  EXPECT_EQ(J(over.body()).at("error").at("message").as_string(),
            "Too many sessions for this principal");
  EXPECT_EQ(site.init("bob-token").size(), 32u);  // alice's flood is alice's problem
  // Ending one of hers makes room for her again.
  EXPECT_EQ(site.send(http::verb::delete_, Site::in_session(a1, "alice-token")).result_int(), 200);
  EXPECT_EQ(site.init("alice-token").size(), 32u);
}

TEST(McpHttpSecurity, SessionsAreBoundedPerPeerWithoutAuth) {
  mcp::HttpOptions opt;
  opt.max_sessions_per_peer = 2;
  Site site(opt);
  EXPECT_EQ(site.init().size(), 32u);
  EXPECT_EQ(site.init().size(), 32u);
  auto over = site.send(http::verb::post, {}, kInit);
  EXPECT_EQ(over.result_int(), 503);
  EXPECT_EQ(J(over.body()).at("error").at("message").as_string(),
            "Too many sessions from this address");
}

TEST(McpHttpSecurity, SessionsNeverUsedAfterInitializeAreReaped) {
  mcp::HttpOptions opt;
  opt.auth = two_users();
  opt.max_sessions_per_principal = 1;
  opt.session_init_timeout = 1s;
  Site site(opt);
  std::string idle = site.init("alice-token");  // a flood's session: initialize only
  std::string used = site.init("bob-token");
  ASSERT_EQ(idle.size(), 32u);
  ASSERT_EQ(used.size(), 32u);
  EXPECT_EQ(site.send(http::verb::post, Site::in_session(used, "bob-token"),
                      R"({"jsonrpc":"2.0","method":"notifications/initialized"})")
                .result_int(),
            202);
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(site.ping(idle, "alice-token"), 404);   // dropped
  EXPECT_EQ(site.ping(used, "bob-token"), 200);     // kept
  EXPECT_EQ(site.init("alice-token").size(), 32u);  // and its place is free again
}

TEST(McpHttpSecurity, GetAndDeleteAnswerOnlyTheSessionsOwner) {
  mcp::HttpOptions opt;
  opt.auth = two_users();
  Site site(opt);
  std::string sid = site.init("alice-token");
  ASSERT_EQ(sid.size(), 32u);
  auto bob = Site::in_session(sid, "bob-token");
  bob.emplace_back("Accept", "text/event-stream");
  EXPECT_EQ(site.send(http::verb::get, bob).result_int(), 403);
  EXPECT_EQ(site.send(http::verb::delete_, bob).result_int(), 403);
  EXPECT_EQ(site.ping(sid, "bob-token"), 403);
  EXPECT_EQ(site.ping(sid, "alice-token"), 200);  // still hers, still alive
}

TEST(McpHttpSecurity, AHeaderMustArriveWithinTheHeaderDeadline) {
  mcp::HttpOptions opt;
  opt.header_timeout = 1s;
  Site site(opt);
  // Half a header, then nothing.
  Conn slow(site.ioc, site.httpd.port(), 8s);
  std::string half = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  boost::asio::write(slow.s, boost::asio::buffer(half));
  // Meanwhile others are served, and a kept-alive connection may idle longer than the header
  // deadline between its requests.
  Conn kept(site.ioc, site.httpd.port());
  const std::string body =
      std::string(
          R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"peer","arguments":{},)") +
      kMeta + "}}";
  const Headers modern{
      {"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "peer"}};
  auto r = request(kept.s, http::verb::post, site.httpd.port(), modern, body);
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(J(r.body()).at("result").at("content").at(0).at("text").as_string(), "127.0.0.1");
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(request(kept.s, http::verb::post, site.httpd.port(), modern, body).result_int(), 200);
  // The slow one has been cut off by the server: its read ends (EOF or reset) before the
  // watchdog's 8 s.
  char c;
  boost::system::error_code ec;
  slow.s.read_some(boost::asio::buffer(&c, 1), ec);
  EXPECT_TRUE(ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset)
      << ec.message();
  EXPECT_FALSE(slow.timed_out);
}

TEST(McpHttpSecurity, ConnectionsBeyondTheCapAreRefused) {
  mcp::HttpOptions opt;
  opt.max_connections = 2;
  Site site(opt);
  auto c1 = std::make_unique<Conn>(site.ioc, site.httpd.port(), 20s);
  Conn c2(site.ioc, site.httpd.port(), 20s);
  // Both are being served (a request each, kept alive).
  EXPECT_EQ(request(c1->s, http::verb::post, site.httpd.port(), {}, kInit).result_int(), 200);
  EXPECT_EQ(request(c2.s, http::verb::post, site.httpd.port(), {}, kInit).result_int(), 200);
  Conn c3(site.ioc, site.httpd.port());
  std::string got;
  char buf[1024];
  boost::system::error_code ec;
  for (std::size_t n; !ec && (n = c3.s.read_some(boost::asio::buffer(buf), ec)) > 0;)
    got.append(buf, n);
  EXPECT_FALSE(c3.timed_out);  // the server closed it
  EXPECT_EQ(got.rfind("HTTP/1.1 503 ", 0), 0u) << got;
  EXPECT_NE(got.find("too many connections"), std::string::npos) << got;
  // Once one closes, a new connection is served.
  c1.reset();
  EXPECT_TRUE(eventually([&] {
    try {
      return site.send(http::verb::post, {}, kInit).result_int() == 200;
    } catch (const std::exception&) {
      return false;
    }
  }));
}

}  // namespace
