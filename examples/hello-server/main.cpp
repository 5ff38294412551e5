// hello-server: an MCP server with one cached tool. `make_table(rows)` builds a table of
// `rows` records; a large table comes back as a ref_id with a preview, which the agent pages
// with get_cached_result or passes to another tool (on this server or on any server sharing
// the cache). Every refcache server flag works: run `hello-server --help`.
#include <boost/describe.hpp>
#include <string>
#include <vector>

#include "refcache_mcp/server_cli.hpp"

// The tool's arguments: the input schema and its validation come from this type.
struct TableArgs {
  int rows = 100;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"rows", "How many records to build (1 to 100000)"}};
  }
};
BOOST_DESCRIBE_STRUCT(TableArgs, (), (rows))

// One record of the result; a vector of them becomes a JSON array of objects.
struct Record {
  int id = 0;
  std::string name;
  double score = 0;
};
BOOST_DESCRIBE_STRUCT(Record, (), (id, name, score))

int main(int argc, char** argv) {
  return refcache::mcp::run_server(
      argc, argv,
      {.program = "hello-server",
       .description = "An MCP server with one cached tool",
       .cache_name = "hello",
       .default_port = 8010,
       .version = "1.0.0"},
      [](mcp::Server& server, refcache::RefCache& cache, const refcache::mcp::ServerConfig&) {
        refcache::mcp::cached_tool<TableArgs>(
            server, cache,
            {.tool = {.name = "make_table", .description = "A table of records, by reference"},
             .cache = {.ns = "tables"}},
            [](const TableArgs& a, refcache::CallContext& ctx) {
              // A message for the agent: refcache errors (and std::invalid_argument) reach it.
              if (a.rows < 1 || a.rows > 100000)
                throw refcache::InvalidArgument("rows must be between 1 and 100000");
              std::vector<Record> table;
              table.reserve(static_cast<std::size_t>(a.rows));
              for (int i = 0; i < a.rows; ++i) {
                if (i % 10000 == 0) ctx.throw_if_cancelled();  // honour the call's deadline
                table.push_back({.id = i, .name = "user-" + std::to_string(i), .score = i * 0.5});
              }
              return table;
            });
      });
}
