#include "tools.hpp"

#include <boost/describe.hpp>
#include <string>
#include <vector>

#include "refcache_mcp/cached_tools.hpp"

namespace {

// The arguments of make_table: its input schema and validation come from this type.
struct TableArgs {
  int rows = 100;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"rows", "How many records to build (1 to 100000)"}};
  }
};
BOOST_DESCRIBE_STRUCT(TableArgs, (), (rows))

struct Record {
  int id = 0;
  std::string name;
  double score = 0;
};
BOOST_DESCRIBE_STRUCT(Record, (), (id, name, score))

}  // namespace

void register_tools(mcp::Server& server, refcache::RefCache& cache) {
  // A cached tool: a small result comes back whole, a large one as a ref_id with a preview
  // the agent pages (get_cached_result) or passes to other tools.
  refcache::mcp::cached_tool<TableArgs>(
      server, cache,
      {.tool = {.name = "make_table", .description = "A table of records"},
       .cache = {.ns = "tables"}},
      [](const TableArgs& a, refcache::CallContext& ctx) {
        // Messages meant for the agent: refcache errors (or std::invalid_argument).
        if (a.rows < 1 || a.rows > 100000)
          throw refcache::InvalidArgument("rows must be between 1 and 100000");
        std::vector<Record> table;
        for (int i = 0; i < a.rows; ++i) {
          if (i % 10000 == 0) ctx.throw_if_cancelled();  // the call's deadline
          table.push_back({.id = i, .name = "user-" + std::to_string(i), .score = i * 0.5});
        }
        return table;
      });
}
