// JSON-RPC message handling: mcp::Server::handle fed the messages of one client connection, as
// the stdio and HTTP transports feed it, with an in-memory Session and Outbound. The server
// carries SDK test tools (typed, raw with a schema, progress/log, MRTR input_required, a
// server->client request, a throwing one), a resource, a resource template, a prompt and a
// completion handler, plus refcache's own surface: get_cached_result, refcache://{ref_id}
// resources, the admin tools and cached tools whose parameters accept ref ids.
//
// Input: JSON-RPC messages, one per line. A first line "!modern" serves the connection as a
// stateless (2026-07-28 HTTP) session from a peer address; "!auth" adds a principal. Messages are
// handled one after the other, each to completion; requests the server sends to the client
// (request_client) are answered by the harness.
#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "jsonio/json_text.hpp"
#include "mcp/server.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache_mcp/cached_tools.hpp"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

struct EchoArgs {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(EchoArgs, (), (text))
struct SumArgs {
  int a;
  int b;
};
BOOST_DESCRIBE_STRUCT(SumArgs, (), (a, b))
struct SumOut {
  long long sum;
};
BOOST_DESCRIBE_STRUCT(SumOut, (), (sum))
struct None {};
BOOST_DESCRIBE_STRUCT(None, (), ())
struct CountArgs {
  int count = 10;
};
BOOST_DESCRIBE_STRUCT(CountArgs, (), (count))
struct ListArgs {
  std::vector<double> values;
};
BOOST_DESCRIBE_STRUCT(ListArgs, (), (values))

// Collects what the server sends; server->client requests are queued for the harness.
class Out : public mcp::Outbound {
 public:
  bool send(std::string text) override {
    std::error_code ec;
    bj::value v = jsonio::parse(text, ec);
    FUZZ_CHECK(!ec, "the server sends valid JSON");
    std::lock_guard lk(mu);
    if (const auto* o = v.if_object(); o && o->contains("method") && o->contains("id"))
      requests.push_back(o->at("id"));
    return true;
  }
  void respond(std::string text, int http_status) override {
    std::error_code ec;
    (void)jsonio::parse(text, ec);
    FUZZ_CHECK(!ec, "the server responds with valid JSON");
    FUZZ_CHECK(http_status >= 200 && http_status < 600, "an HTTP status");
  }
  std::mutex mu;
  std::deque<bj::value> requests;
};

std::int64_t g_answer_kind = 0;

struct World {
  mcp::Server server;
  refcache::RefCache cache;

  static mcp::ServerOptions server_options() {
    mcp::ServerOptions o;
    o.info = {.name = "fuzz", .version = "1.0"};
    o.worker_threads = 2;
    o.page_size = 3;  // paging cursors on every list
    o.cache_ttl_ms = 1000;
    return o;
  }
  static refcache::RefCacheOptions cache_options() {
    refcache::RefCacheOptions o;
    o.name = "fz";
    o.default_ttl = refcache::kNoExpiry;
    o.preview.size_mode = refcache::SizeMode::kCharacter;
    o.preview.max_size = 200;
    return o;
  }

  World() : server(server_options()), cache(cache_options()) {
    server.tool<EchoArgs>({.name = "echo", .description = "Echo"},
                          [](const EchoArgs& a, mcp::ToolContext&) { return a.text; });
    server.tool<SumArgs>({.name = "sum", .description = "Sum"},
                         [](const SumArgs& a, mcp::ToolContext&) {
                           return SumOut{static_cast<long long>(a.a) + a.b};
                         });
    server.tool<None>(
        {.name = "fail", .description = "Throws"},
        [](const None&, mcp::ToolContext&) -> std::string { throw std::runtime_error("boom"); });
    server.tool<None>({.name = "needs_sampling", .description = ""},
                      [](const None&, mcp::ToolContext& ctx) {
                        ctx.require_client_capability("sampling");
                        return std::string("ok");
                      });
    server.tool_raw(
        {.name = "raw",
         .description = "Raw",
         .input_schema = jsonio::parse_or_throw(
             R"({"type":"object","properties":{"n":{"type":"integer","minimum":0,"maximum":9},)"
             R"("s":{"type":"string","minLength":1,"maxLength":5,"pattern":"^[a-z]+$"},)"
             R"("e":{"enum":["x","y",1]},"l":{"type":"array","items":{"type":"number"},"maxItems":3},)"
             R"("o":{"anyOf":[{"type":"null"},{"type":"object","additionalProperties":false}]}},)"
             R"("required":["n"],"additionalProperties":false})"),
         .annotations = {.read_only_hint = true}},
        [](const bj::value& args, mcp::ToolContext&) {
          return mcp::CallToolResult::text(jsonio::to_string(args));
        });
    server.tool<None>({.name = "progress", .description = ""},
                      [](const None&, mcp::ToolContext& ctx) {
                        ctx.progress(1, 3);
                        ctx.progress(1, 3);
                        ctx.progress(2, 3, "half");
                        ctx.log(mcp::LogLevel::kDebug, "dbg");
                        ctx.log(mcp::LogLevel::kError, bj::object{{"e", 1}}, "lg");
                        return std::string("done");
                      });
    server.tool<None>({.name = "ask", .description = ""}, [](const None&, mcp::ToolContext& ctx) {
      if (auto* r = ctx.input_response("q"))
        return "answer=" + jsonio::to_string(*r) + " state=" + ctx.request_state();
      ctx.require_input(
          bj::object{{"q", bj::object{{"method", "roots/list"}, {"params", bj::object{}}}}}, "s1");
    });
    server.tool<None>(
        {.name = "ask_client", .description = ""}, [](const None&, mcp::ToolContext& ctx) {
          return jsonio::to_string(ctx.request_client("roots/list", bj::object{}, 5s));
        });
    server.resource({.uri = "mem://a", .name = "a", .mime_type = "text/plain"},
                    [](const std::string& u, mcp::RequestContext&) {
                      return mcp::ReadResourceResult{{{.uri = u, .text = "A"}}};
                    });
    server.resource_template(
        {.uri_template = "mem://item/{id}", .name = "item"},
        [](const std::string& u, const std::map<std::string, std::string>& v,
           mcp::RequestContext&) {
          if (v.at("id") == "missing") throw mcp::ResourceNotFound(u);
          return mcp::ReadResourceResult{{{.uri = u, .text = "item " + v.at("id")}}};
        });
    server.prompt({.name = "greet", .arguments = {{"who", "", true}}}, [](const std::map<
                                                                              std::string,
                                                                              std::string>& a,
                                                                          mcp::RequestContext&) {
      return mcp::GetPromptResult{.messages = {{"user", mcp::text_content("hi " + a.at("who"))}}};
    });
    server.completion([](const bj::object&, const std::string& arg, const std::string& value,
                         const std::map<std::string, std::string>&, mcp::RequestContext&) {
      mcp::Completion c;
      for (int i = 0; i < 120; ++i) c.values.push_back(arg + value + std::to_string(i));
      c.has_more = true;
      return c;
    });

    refcache::mcp::InstallOptions io;
    io.admin_check = [](const mcp::ToolContext& ctx) {
      return ctx.principal() && ctx.principal()->subject == "admin";
    };
    refcache::mcp::install(server, cache, io);
    refcache::mcp::cached_tool<CountArgs>(
        server, cache, {.tool = {.name = "make_list", .description = "0..count-1"}},
        [](const CountArgs& a, refcache::CallContext&) {
          if (a.count < 0 || a.count > 5000) throw refcache::InvalidArgument("count out of range");
          std::vector<long long> v;
          for (int i = 0; i < a.count; ++i) v.push_back(static_cast<long long>(i) * i);
          return v;
        });
    refcache::mcp::CachedToolSpec secret{.tool = {.name = "make_secret", .description = "private"}};
    secret.cache.policy = refcache::AccessPolicy::execute_only();
    secret.cache.ns = "secrets";
    refcache::mcp::cached_tool<CountArgs>(
        server, cache, std::move(secret), [](const CountArgs& a, refcache::CallContext&) {
          return std::vector<int>(static_cast<std::size_t>(std::clamp(a.count, 0, 3000)), 7);
        });
    refcache::mcp::CachedToolSpec total{.tool = {.name = "total", .description = "sum of values"}};
    refcache::mcp::cached_tool<ListArgs>(server, cache, std::move(total),
                                         [](const ListArgs& a, refcache::CallContext&) {
                                           double s = 0;
                                           for (double d : a.values) s += d;
                                           return s;
                                         });
    reseed();
  }

  // Fixed refs the corpus names: fz:00000000000000a1 (public list), ...a2 (EXECUTE-only),
  // ...a3 (a ref to a1).
  // Per-namespace clears: a whole-store clear() is fuzzed on its own (fuzz_memory_backend), and
  // here it would trip, on every input, the hot-set bug that target's regression input shows.
  void reseed() {
    for (const char* ns : {"public", "secrets"}) cache.clear(std::string_view(ns));
    auto put = [&](const char* id, bj::value v, refcache::AccessPolicy p, const char* ns) {
      refcache::SetOptions so;
      so.ref_id = id;
      so.policy = p;
      so.ns = ns;
      cache.set("", std::move(v), so);
    };
    bj::array big;
    for (int i = 0; i < 500; ++i) big.emplace_back(i);
    put("fz:00000000000000a1", big, refcache::AccessPolicy::public_policy(), "public");
    put("fz:00000000000000a2", bj::array{1, 2, 3}, refcache::AccessPolicy::execute_only(),
        "public");
    put("fz:00000000000000a3", "fz:00000000000000a1", refcache::AccessPolicy::public_policy(),
        "public");
  }
};

World& world() {
  static World* w = new World();
  return *w;
}

// Waits until every call is done, answering the server's requests to the client meanwhile.
void drain(World& w, const std::shared_ptr<mcp::Session>& session, Out& standalone, Out& out) {
  for (int i = 0; i < 20000; ++i) {
    if (w.server.wait_idle(1ms)) return;
    for (Out* o : {&standalone, &out}) {
      std::deque<bj::value> reqs;
      {
        std::lock_guard lk(o->mu);
        reqs.swap(o->requests);
      }
      for (auto& id : reqs) {
        bj::object answer{{"jsonrpc", "2.0"}, {"id", id}};
        if (g_answer_kind & 1)
          answer["error"] = bj::object{{"code", -1}, {"message", "no"}};
        else
          answer["result"] = bj::object{{"roots", bj::array{}}};
        w.server.handle(session, std::move(answer), std::make_shared<Out>());
      }
    }
  }
  FUZZ_CHECK(false, "the server did not become idle within 20 s");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  std::string_view in = as_view(data, size);
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= in.size() && lines.size() < 24;) {
    auto nl = in.find('\n', start);
    if (nl == std::string_view::npos) nl = in.size();
    lines.push_back(in.substr(start, nl - start));
    start = nl + 1;
  }
  bool stateless = false;
  mcp::MessageInfo info;
  while (!lines.empty() && !lines.front().empty() && lines.front().front() == '!') {
    std::string_view opt = lines.front();
    if (opt == "!modern") {
      stateless = info.modern_http = true;
      info.peer_address = "192.0.2.7";  // anonymous modern callers are keyed by address
    }
    if (opt == "!auth") info.principal = mcp::Principal{.subject = "admin", .scopes = {"s"}};
    if (opt == "!user") info.principal = mcp::Principal{.subject = "alice", .scopes = {}};
    if (opt == "!refuse") g_answer_kind = 1;
    lines.erase(lines.begin());
  }
  auto session = std::make_shared<mcp::Session>(stateless ? "" : "fuzz-session",
                                                mcp::TransportKind::kInMemory, stateless);
  auto standalone = std::make_shared<Out>();
  session->set_standalone(standalone);
  w.server.attach(session);
  for (std::string_view line : lines) {
    std::error_code ec;
    bj::value msg = jsonio::parse(line, ec, {.max_depth = 64, .max_bytes = 1 << 20});
    if (ec) {
      (void)mcp::Server::error_response(nullptr, -32700, "Parse error: " + ec.message());
      continue;
    }
    auto out = std::make_shared<Out>();
    w.server.handle(session, std::move(msg), out, info);
    drain(w, session, *standalone, *out);
  }
  w.server.detach(session);
  w.server.wait_idle(10s);
  g_answer_kind = 0;
  w.reseed();
  return 0;
}
