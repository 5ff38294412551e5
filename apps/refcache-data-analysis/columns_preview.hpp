// The `columns` preview strategy of refcache-data-analysis: a list of records seen as a table,
// column by column -- each column's name and its first values -- which is how a dataset is
// read before it is analysed (and what a `SELECT col FROM data` would page through).
//
// columns_preview gives {"rows": N, "columns": {"<name>": [first values...]}} for a list of
// objects (columns are the union of the keys, in order of first appearance; a row lacking a
// key gives null), and for a list of numbers the single column "value". It shows as many
// first values per column as fit the budget's characters (the same count for every column),
// and says in `omitted` how many rows it left out ("items") and that values were cut
// ("characters") when a long string was shortened. Any other value gives a preview of its
// type only, with omitted.summarised. The library enforces the budget around it.
// Thread-safety: stateless; may run concurrently.
#pragma once

#include <boost/json/value.hpp>

#include "refcache/preview.hpp"

namespace analysis {

refcache::CustomPreview columns_preview(const boost::json::value& value,
                                        const refcache::PreviewBudget& budget);

}  // namespace analysis
