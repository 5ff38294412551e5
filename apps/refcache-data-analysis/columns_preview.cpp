#include "columns_preview.hpp"

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "jsonio/json_text.hpp"

namespace analysis {
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxColumns = 64;     // wider tables show their first 64 columns
constexpr std::size_t kMaxValueChars = 40;  // longer strings are cut, ending in "..."

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// A value as shown in a column: strings longer than kMaxValueChars bytes are cut, and the
// code points cut are added to `cut`.
json::value cell(const json::value& v, std::size_t& cut) {
  if (!v.is_string()) return v;
  const std::string_view s = v.get_string();
  if (s.size() <= kMaxValueChars) return v;
  std::size_t n = kMaxValueChars;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  cut += code_points(s.substr(n));
  return json::string(std::string(s.substr(0, n)) + "...");
}

}  // namespace

refcache::CustomPreview columns_preview(const json::value& value,
                                        const refcache::PreviewBudget& budget) {
  refcache::CustomPreview out;
  if (!value.is_array()) {
    out.preview = json::object{{"type", value.is_object() ? "object" : "scalar"}};
    out.omitted["summarised"] = true;
    return out;
  }
  const json::array& rows = value.get_array();
  std::vector<std::string> names;
  std::size_t extra_columns = 0;
  for (const auto& r : rows) {
    if (!r.is_object()) {
      names = {"value"};
      break;
    }
    for (const auto& kv : r.get_object()) {
      bool known = false;
      for (const auto& n : names) known = known || n == kv.key();
      if (known) continue;
      if (names.size() < kMaxColumns)
        names.emplace_back(kv.key());
      else
        ++extra_columns;
    }
  }
  const bool records =
      !(names.size() == 1 && names[0] == "value" && !rows.empty() && !rows[0].is_object());
  auto build = [&](std::size_t n, std::size_t& cut) {
    json::object cols;
    for (const auto& name : names) {
      json::array values;
      for (std::size_t i = 0; i < n && i < rows.size(); ++i) {
        if (!records) {
          values.push_back(cell(rows[i], cut));
          continue;
        }
        const json::object* o = rows[i].if_object();
        const json::value* v = o ? o->if_contains(name) : nullptr;
        values.push_back(v ? cell(*v, cut) : json::value(nullptr));
      }
      cols[name] = std::move(values);
    }
    return json::value(json::object{{"rows", rows.size()}, {"columns", std::move(cols)}});
  };
  // The most first values per column that fit (at least one): doubling, then bisection, so
  // that a large budget costs a few builds rather than one per row.
  auto fits = [&](std::size_t k) {
    std::size_t c = 0;
    return jsonio::measure_code_points(build(k, c)) <= budget.max_chars;
  };
  std::size_t ok = 1, bad = rows.size() + 1;  // fits(ok) is assumed; fits(bad) is false
  for (std::size_t k = 2; k < bad; k *= 2) {
    if (!fits(k)) {
      bad = k;
      break;
    }
    ok = k;
  }
  while (ok + 1 < bad) {
    const std::size_t mid = ok + (bad - ok) / 2;
    (fits(mid) ? ok : bad) = mid;
  }
  const std::size_t n = std::min(ok, std::max<std::size_t>(rows.size(), 1));
  std::size_t cut = 0;
  json::value best = build(n, cut);
  const std::size_t shown = rows.empty() ? 0 : n;
  out.preview = std::move(best);
  if (rows.size() > shown) out.omitted["items"] = rows.size() - shown;
  if (cut) out.omitted["characters"] = cut;
  if (extra_columns) out.omitted["columns"] = extra_columns;
  // The preview restates the value as columns: never the value itself.
  if (out.omitted.empty()) out.omitted["summarised"] = true;
  return out;
}

}  // namespace analysis
