// refcache-calculator: the first server of the cross-server workflow. It computes sequences,
// caches them and hands out references; refcache-data-analysis reads them from the shared
// cache. Run `refcache-calculator --help` for the flags.
#include <boost/describe.hpp>

#include "refcache_mcp/server_cli.hpp"
#include "sequences.hpp"

namespace json = boost::json;

struct CalculateArgs {
  std::string expression;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"expression", "Arithmetic, e.g. \"2 * (3 + 4) ** 2\" or \"sqrt(16) + log(e)\""}};
  }
};
BOOST_DESCRIBE_STRUCT(CalculateArgs, (), (expression))

struct CountArgs {
  int count = 20;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"count", "How many numbers to generate"}};
  }
};
BOOST_DESCRIBE_STRUCT(CountArgs, (), (count))

struct SequenceArgs {
  std::string sequence_type;
  int count = 20;
  std::optional<long long> start;
  std::optional<long long> step;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"sequence_type", "fibonacci, prime, arithmetic, geometric, triangular or factorial"},
            {"count", "How many numbers to generate (1-1000)"},
            {"start", "First term (arithmetic: 0, geometric: 1)"},
            {"step", "Difference (arithmetic, default 1) or ratio (geometric, default 2)"}};
  }
};
BOOST_DESCRIBE_STRUCT(SequenceArgs, (), (sequence_type, count, start, step))

struct NoArgs {};
BOOST_DESCRIBE_STRUCT(NoArgs, (), ())

int main(int argc, char** argv) {
  refcache::mcp::ServerDefaults defaults{
      .program = "refcache-calculator",
      .description = "MCP server: calculator and number sequences, cached by reference",
      .cache_name = "calculator",
      .default_port = 8001};
  return refcache::mcp::run_server(
      argc, argv, defaults,
      [](mcp::Server& server, refcache::RefCache& cache, const refcache::mcp::ServerConfig&) {
        // --namespace-template, --session-scoped and the budgets reach every cached tool
        // through the cache's call defaults.
        auto in_namespace = [](std::string ns) {
          refcache::CachedCallOptions o;
          o.ns = std::move(ns);
          return o;
        };
        server.tool<CalculateArgs>(
            {.name = "calculate",
             .description = "Evaluate an arithmetic expression (+ - * / ** and parentheses; "
                            "sqrt, sin, cos, tan, log, log10, exp, abs, round, floor, ceil, pow, "
                            "min, max, sum, factorial; pi, e).",
             .annotations = {.read_only_hint = true, .open_world_hint = false}},
            [](const CalculateArgs& a, mcp::ToolContext&) {
              try {
                return mcp::CallToolResult::structured(json::object{
                    {"expression", a.expression}, {"result", calculator::evaluate(a.expression)}});
              } catch (const calculator::InputError& e) {
                return mcp::CallToolResult::error(e.what());
              }
            });

        refcache::mcp::cached_tool<CountArgs>(
            server, cache,
            {.tool = {.name = "generate_primes",
                      .description = "The first `count` prime numbers (1-10000)."},
             .cache = in_namespace("sequences")},
            [](const CountArgs& a, refcache::CallContext&) { return calculator::primes(a.count); });

        refcache::mcp::cached_tool<CountArgs>(
            server, cache,
            {.tool = {.name = "generate_fibonacci",
                      .description = "The first `count` Fibonacci numbers, from 0 (1-1000)."},
             .cache = in_namespace("sequences")},
            [](const CountArgs& a, refcache::CallContext&) {
              return calculator::fibonacci(a.count);
            });

        refcache::mcp::cached_tool<SequenceArgs>(
            server, cache,
            {.tool = {.name = "generate_sequence",
                      .description = "A number sequence: fibonacci, prime, arithmetic, "
                                     "geometric, triangular or factorial."},
             .cache = in_namespace("sequences")},
            [](const SequenceArgs& a, refcache::CallContext&) {
              return calculator::sequence(a.sequence_type, a.count, a.start, a.step);
            });

        server.tool<NoArgs>(
            {.name = "list_cached_keys",
             .description = "The references this server's cache holds that you may use."},
            [&root = cache](const NoArgs&, mcp::ToolContext& ctx) {
              refcache::Actor actor = refcache::derive_actor(refcache::mcp::identity_of(ctx));
              refcache::RefCache& mine = refcache::mcp::cache_for(root, ctx);
              refcache::ListPage page = mine.list(std::nullopt, actor, "", 100);
              json::array keys;
              for (auto& k : page.ref_ids) keys.emplace_back(k);
              return json::value(json::object{{"tool", "refcache-calculator"},
                                              {"keys", keys},
                                              {"count", keys.size()},
                                              {"truncated", !page.next_cursor.empty()},
                                              {"backend", mine.backend().kind()}});
            });
      });
}
