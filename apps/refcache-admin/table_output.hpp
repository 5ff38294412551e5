// Table: human-readable output of rows of text, columns aligned, on one stream.
//
// Contract: add_row() takes as many cells as there are headers; print() writes the header
// and the rows, each column padded to its widest cell (the last column is not padded).
// Thread-safety: none; one thread builds and prints a table.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace refcache::admin {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_{};
  std::vector<std::vector<std::string>> rows_{};
};

// "1.5 KiB", "12 B", "3.2 MiB".
std::string human_bytes(double bytes);
// Seconds left as "45s", "12m05s", "3h02m", "2d04h"; "-" when there is no expiry.
std::string human_ttl(const double* seconds_left);

}  // namespace refcache::admin
