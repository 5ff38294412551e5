// mcp-security-fixture: the server the SDK's security e2e tests (security.mjs) attack. It has
// what those tests need and the conformance fixture lacks: several bearer users, each token
// mapped to its own subject, and a slow tool that stops when its call is cancelled.
//
//   mcp-security-fixture [--transport http] [--host H] [--port P] [SDK transport flags]
//                        [--bearer-token TOKEN=USER]... [--workers N]
//
// Tools: fast (answers at once), slow {ms} (sleeps up to ms milliseconds, 10 s by default,
// checking cancellation every 5 ms), whoami (the caller's subject and session). Prints
// "listening on http://HOST:PORT/mcp" to stderr once bound (mcp::serve).
#include <boost/describe.hpp>
#include <charconv>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "mcp/serve.hpp"
#include "mcp/server.hpp"

namespace {

struct NoArgs {};
BOOST_DESCRIBE_STRUCT(NoArgs, (), ())

struct SlowArgs {
  int ms = 10000;
};
BOOST_DESCRIBE_STRUCT(SlowArgs, (), (ms))

bool parse_size(std::string_view v, std::size_t& out) {
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && end == v.data() + v.size();
}

}  // namespace

int main(int argc, char** argv) {
  mcp::TransportConfig cfg;
  try {
    cfg = mcp::TransportConfig::from_flags(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  std::map<std::string, std::string, std::less<>> users;  // token -> subject
  std::size_t workers = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--bearer-token" && i + 1 < argc) {
      const std::string_view pair = argv[++i];
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0 || eq + 1 == pair.size()) {
        std::cerr << "mcp-security-fixture: --bearer-token wants TOKEN=USER\n";
        return 2;
      }
      users.emplace(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
    } else if (a == "--workers" && i + 1 < argc) {
      if (!parse_size(argv[++i], workers)) {
        std::cerr << "mcp-security-fixture: --workers wants a number\n";
        return 2;
      }
    }
  }
  if (!users.empty()) {
    cfg.http.auth = mcp::AuthOptions{
        .verify = [users](std::string_view token) -> std::optional<mcp::Principal> {
          auto it = users.find(token);
          if (it == users.end()) return std::nullopt;
          return mcp::Principal{.subject = it->second};
        }};
  }

  mcp::Server server(
      {.info = {.name = "mcp-security-fixture", .version = "1.0.0"}, .worker_threads = workers});
  server.tool<NoArgs>({.name = "fast", .description = "Answers at once"},
                      [](const NoArgs&, mcp::ToolContext&) { return std::string("fast"); });
  server.tool<SlowArgs>(
      {.name = "slow", .description = "Sleeps up to ms milliseconds, stopping when cancelled"},
      [](const SlowArgs& a, mcp::ToolContext& ctx) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(a.ms);
        while (!ctx.cancelled() && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return std::string(ctx.cancelled() ? "cancelled" : "done");
      });
  server.tool<NoArgs>({.name = "whoami", .description = "The caller as the SDK sees it"},
                      [](const NoArgs&, mcp::ToolContext& ctx) {
                        boost::json::object o{{"session", ctx.session_id()}};
                        o["principal"] = ctx.principal()
                                             ? boost::json::value(ctx.principal()->subject)
                                             : boost::json::value(nullptr);
                        return boost::json::value(std::move(o));
                      });
  const int rc = mcp::serve(server, cfg);
  server.shutdown();
  return rc;
}
