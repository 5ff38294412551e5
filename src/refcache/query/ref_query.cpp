// query_value (refcache/ref_query.hpp): the value as the table `data`, one confined SELECT.
#include <boost/json.hpp>

#include "refcache/query/query_sandbox.hpp"
#include "refcache/query/ref_table.hpp"
#include "refcache/ref_query.hpp"

namespace refcache {

boost::json::value query_value(const boost::json::value& value, std::string_view sql,
                               const QueryLimits& limits) {
  query::QuerySandbox box(limits);
  query::load_table(box, value);
  box.confine();
  query::Statement stmt = box.prepare_one(sql);
  return box.rows(stmt.get());
}

}  // namespace refcache
