// mcp-security-fixture: the server the SDK's security e2e tests (security.mjs) attack. It has
// what those tests need and the conformance fixture lacks: several bearer users, each token
// mapped to its own subject, and a slow tool that stops when its call is cancelled.
//
//   mcp-security-fixture [SDK transport flags: --transport http --host H --port P ...]
//                        [--bearer-token TOKEN=USER]... [--workers N]
//
// Tools: fast (answers at once), slow {ms} (sleeps up to ms milliseconds, 10 s by default,
// checking cancellation every 5 ms), whoami (the caller's subject and session). Prints
// "listening on http://HOST:PORT/mcp" to stderr once bound (mcp::serve).
#include <CLI/CLI.hpp>
#include <boost/describe.hpp>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "mcp/serve.hpp"
#include "mcp/server.hpp"
#include "mcp/transport_flags.hpp"

namespace {

struct NoArgs {};
BOOST_DESCRIBE_STRUCT(NoArgs, (), ())

struct SlowArgs {
  int ms = 10000;
};
BOOST_DESCRIBE_STRUCT(SlowArgs, (), (ms))

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The server the SDK's security e2e tests attack", "mcp-security-fixture"};
  mcp::TransportConfig cfg;
  mcp::add_transport_flags(app, cfg);
  std::vector<std::string> tokens;
  std::size_t workers = 0;
  app.add_option("--bearer-token", tokens, "TOKEN=USER: a valid token and its subject (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--workers", workers, "handler threads (0: the SDK's default)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  std::map<std::string, std::string, std::less<>> users;  // token -> subject
  for (const auto& pair : tokens) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
      std::cerr << "mcp-security-fixture: --bearer-token wants TOKEN=USER\n";
      return 2;
    }
    users.emplace(pair.substr(0, eq), pair.substr(eq + 1));
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
