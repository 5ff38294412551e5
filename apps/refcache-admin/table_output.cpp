#include "table_output.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace refcache::admin {

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> width(headers_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  };
  measure(headers_);
  for (const auto& r : rows_) measure(r);
  auto line = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out << row[i];
      if (i + 1 < row.size()) out << std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << '\n';
  };
  line(headers_);
  for (const auto& r : rows_) line(r);
}

std::string human_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t u = 0;
  while (bytes >= 1024 && u + 1 < std::size(kUnits)) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    (void)std::snprintf(buf, sizeof buf, "%.0f %s", bytes, kUnits[u]);
  else
    (void)std::snprintf(buf, sizeof buf, "%.1f %s", bytes, kUnits[u]);
  return buf;
}

std::string human_ttl(const double* seconds_left) {
  if (seconds_left == nullptr) return "-";
  auto s = static_cast<long long>(std::max(0.0, std::ceil(*seconds_left)));
  char buf[32];
  if (s < 60)
    (void)std::snprintf(buf, sizeof buf, "%llds", s);
  else if (s < 3600)
    (void)std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else if (s < 86400)
    (void)std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
  else
    (void)std::snprintf(buf, sizeof buf, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
  return buf;
}

}  // namespace refcache::admin
