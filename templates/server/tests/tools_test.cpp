// Calls make_table the way a client does (a JSON-RPC tools/call, 2026-07-28 era) on an
// in-process server with a memory cache, and checks what the agent gets: a small table
// whole, a large one as a ref_id with its shape.
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "mcp/server.hpp"
#include "mcp/session.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "tools.hpp"

namespace json = boost::json;

namespace {

// Keeps the response of one request.
class Answer : public mcp::Outbound {
 public:
  bool send(std::string) override { return true; }
  void respond(std::string text, int) override {
    std::lock_guard lock(mu);
    response = json::parse(text);
  }
  std::mutex mu;
  json::value response;
};

json::object call(mcp::Server& server, const std::string& tool, json::object arguments) {
  auto session = std::make_shared<mcp::Session>("", mcp::TransportKind::kInMemory, true);
  auto answer = std::make_shared<Answer>();
  json::object meta{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                    {"io.modelcontextprotocol/clientCapabilities", json::object{}}};
  server.handle(
      session,
      json::object{{"jsonrpc", "2.0"},
                   {"id", 1},
                   {"method", "tools/call"},
                   {"params", {{"name", tool}, {"arguments", arguments}, {"_meta", meta}}}},
      answer);
  server.wait_idle(std::chrono::seconds(10));
  std::lock_guard lock(answer->mu);
  return answer->response.at("result").as_object();
}

int failures = 0;
void expect(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what);
  if (!ok) ++failures;
}

}  // namespace

int main() {
  refcache::RefCache cache({.name = "test"});  // a memory backend
  mcp::Server server({.info = {.name = "test", .version = "0"}});
  refcache::mcp::install(server, cache);  // get_cached_result, refcache:// resources
  register_tools(server, cache);

  json::object small = call(server, "make_table", {{"rows", 2}});
  const json::value& s = small.at("structuredContent");
  expect(s.at("is_complete") == true, "a small table comes back whole");
  expect(s.at("value").as_array().size() == 2, "with its two records");

  json::object large = call(server, "make_table", {{"rows", 5000}});
  const json::value& l = large.at("structuredContent");
  expect(l.at("is_complete") == false, "a large table comes back by reference");
  expect(l.at("total_items") == 5000, "whose size is told");
  expect(l.at("preview_strategy") == "shape" &&
             l.at("preview").at("items").at("keys").as_object().contains("id"),
         "with its shape (the columns an agent queries), not the whole table");

  json::object page = call(server, "get_cached_result",
                           {{"ref_id", l.at("ref_id")}, {"page", 2}, {"page_size", 10}});
  expect(page.at("structuredContent").at("preview").as_array().at(0).at("id") == 10,
         "whose pages the agent reads with get_cached_result");

  json::object bad = call(server, "make_table", {{"rows", 0}});
  expect(bad.at("isError") == true, "bad arguments get a clear error");
  return failures == 0 ? 0 : 1;
}
