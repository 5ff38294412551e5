#include "preview_shape.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace refcache::detail {
namespace json = boost::json;

namespace {

enum TypeIx : std::size_t { kNull, kBool, kInt, kNum, kStr, kArr, kObj, kTypeCount };
constexpr std::array<std::string_view, kTypeCount> kTypeNames = {
    "null", "boolean", "integer", "number", "string", "array", "object"};

TypeIx type_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return kNull;
    case json::kind::bool_:
      return kBool;
    case json::kind::int64:
    case json::kind::uint64:
      return kInt;
    case json::kind::double_:
      return kNum;
    case json::kind::string:
      return kStr;
    case json::kind::array:
      return kArr;
    case json::kind::object:
      return kObj;
  }
  return kNull;
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t hash_text(std::string_view s) {  // FNV-1a, then mixed
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return mix(h);
}

// "YYYY-MM-DD", optionally followed by a time ("T" or space, hh:mm[:ss[.fff]]) and a zone.
bool is_iso_date(std::string_view s) {
  if (s.size() < 10 || s.size() > 40) return false;
  auto digit = [&](std::size_t i) { return s[i] >= '0' && s[i] <= '9'; };
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!digit(i)) return false;
  if (s[4] != '-' || s[7] != '-') return false;
  if (s.size() == 10) return true;
  if (s[10] != 'T' && s[10] != ' ') return false;
  if (s.size() < 16 || !digit(11) || !digit(12) || s[13] != ':' || !digit(14) || !digit(15))
    return false;
  for (std::size_t i = 16; i < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= '0' && c <= '9') || c == ':' || c == '.' || c == 'Z' || c == '+' || c == '-'))
      return false;
  }
  return true;
}

// At most `max_bytes` of `s`, cut at a code point boundary.
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

constexpr std::size_t kTopValueBytes = 80;  // longer frequent strings are shown cut, with "..."

}  // namespace

struct ShapeNode {
  std::size_t seen = 0;  // values observed here, null included
  std::array<std::size_t, kTypeCount> types{};
  // Scalars: distinct values, as the kExactDistinct smallest hashes (KMV).
  std::set<std::uint64_t> hashes;
  bool hashes_full = false;  // a hash was ever turned away: the count is an estimate
  std::optional<json::value> num_min, num_max;
  double num_min_d = 0, num_max_d = 0;  // num_min and num_max as doubles, to compare
  std::optional<std::string> date_min, date_max;
  // Strings: space-saving counters (value, count: an over-estimate once evicting), found by
  // hash in a short array (kTopCounters entries: a scan beats a map's upkeep).
  struct Counter {
    std::uint64_t hash = 0;
    std::string value;
    std::size_t count = 0;
    std::size_t error = 0;  // of count: what it inherited from the evicted counter
  };
  std::vector<Counter> top;
  bool top_evicted = false;
  // Arrays.
  std::size_t len_min = std::numeric_limits<std::size_t>::max(), len_max = 0;
  std::unique_ptr<ShapeNode> items;
  // Objects: keys in order of first appearance.
  std::size_t objects = 0;
  std::vector<std::pair<std::string, std::unique_ptr<ShapeNode>>> keys;
  std::unordered_map<std::string, std::size_t> key_index;
  std::size_t untracked_keys = 0;  // key occurrences beyond kMaxKeys or kMaxNodes
  bool untracked_nesting = false;  // nested values below kMaxDepth, not described

  void add_hash(std::uint64_t h) {
    if (hashes.size() < kExactDistinct) {
      hashes.insert(h);
      return;
    }
    if (h >= *hashes.rbegin()) {
      if (!hashes.contains(h)) hashes_full = true;
      return;
    }
    if (hashes.insert(h).second) {
      hashes.erase(std::prev(hashes.end()));
      hashes_full = true;
    }
  }

  // `h` is the hash of the whole string; counters hold its first kTopValueBytes.
  void add_top(std::string_view s, std::uint64_t h) {
    const std::string_view key = utf8_prefix(s, kTopValueBytes);
    Counter* victim = nullptr;
    for (Counter& c : top) {
      if (c.hash == h && c.value == key) {
        ++c.count;
        return;
      }
      if (!victim || c.count < victim->count) victim = &c;
    }
    if (top.size() < kTopCounters) {
      top.push_back(Counter{h, std::string(key), 1});
      return;
    }
    victim->hash = h;
    victim->value.assign(key);
    victim->error = victim->count;  // space-saving: the newcomer inherits the evicted count
    ++victim->count;
    top_evicted = true;
  }

  // At most `values`, the scalars seen (an estimate can overshoot it).
  std::size_t distinct(std::size_t values) const {
    if (!hashes_full) return hashes.size();
    const double kth = static_cast<double>(*hashes.rbegin());
    const double est =
        static_cast<double>(kExactDistinct - 1) * 18446744073709551616.0 / std::max(kth, 1.0);
    return std::min(values, static_cast<std::size_t>(est));
  }
};

namespace {

struct Builder {
  std::size_t& nodes;

  std::unique_ptr<ShapeNode> make() {
    ++nodes;
    return std::make_unique<ShapeNode>();
  }

  void add(ShapeNode& n, const json::value& v, std::size_t depth) {
    ++n.seen;
    const TypeIx t = type_of(v);
    ++n.types[t];
    switch (t) {
      case kNull:
        break;
      case kBool:
        n.add_hash(mix(v.get_bool() ? 2 : 1));
        break;
      case kInt:
      case kNum: {
        const double d = v.to_number<double>();
        std::uint64_t bits = 0;
        std::memcpy(&bits, &d, sizeof bits);
        n.add_hash(mix(bits ^ 0x5bd1e995ULL));
        if (!n.num_min || d < n.num_min_d) {
          n.num_min = v;
          n.num_min_d = d;
        }
        if (!n.num_max || d > n.num_max_d) {
          n.num_max = v;
          n.num_max_d = d;
        }
        break;
      }
      case kStr: {
        const std::string_view s = v.get_string();
        const std::uint64_t h = hash_text(s);
        n.add_hash(h);
        n.add_top(s, h);
        if (is_iso_date(s)) {
          if (!n.date_min || s < *n.date_min) n.date_min = std::string(s);
          if (!n.date_max || s > *n.date_max) n.date_max = std::string(s);
        }
        break;
      }
      case kArr: {
        const auto& a = v.get_array();
        n.len_min = std::min(n.len_min, a.size());
        n.len_max = std::max(n.len_max, a.size());
        if (a.empty()) break;
        if (depth >= kMaxDepth || (!n.items && nodes >= kMaxNodes)) {
          n.untracked_nesting = true;
          break;
        }
        if (!n.items) n.items = make();
        for (const auto& item : a) add(*n.items, item, depth + 1);
        break;
      }
      case kObj: {
        ++n.objects;
        const auto& o = v.get_object();
        if (o.empty()) break;
        if (depth >= kMaxDepth) {
          n.untracked_nesting = true;
          break;
        }
        std::size_t pos = 0;  // rows mostly repeat their keys in one order: try that first
        for (const auto& kv : o) {
          std::size_t at = pos;
          if (at >= n.keys.size() || n.keys[at].first != kv.key()) {
            auto it = n.key_index.find(std::string(kv.key()));
            if (it == n.key_index.end()) {
              if (n.keys.size() >= kMaxKeys || nodes >= kMaxNodes) {
                ++n.untracked_keys;
                continue;
              }
              it = n.key_index.emplace(std::string(kv.key()), n.keys.size()).first;
              n.keys.emplace_back(std::string(kv.key()), make());
            }
            at = it->second;
          }
          pos = at + 1;
          add(*n.keys[at].second, kv.value(), depth + 1);
        }
        break;
      }
      default:
        break;
    }
  }
};

// What one rendering shows.
struct Level {
  std::size_t examples = kExamples;
  std::size_t top = 5;
  bool stats = true;
  std::size_t depth = kMaxDepth + 1;  // levels of nested keys/items described
};

json::object render_node(const ShapeNode& n, const Level& lv, bool structure_only,
                         std::size_t depth, std::optional<std::size_t> missing) {
  json::object o;
  std::size_t kinds = 0;
  TypeIx only = kNull;
  for (std::size_t i = 0; i < kTypeCount; ++i)
    if (n.types[i]) {
      ++kinds;
      only = static_cast<TypeIx>(i);
    }
  if (kinds == 1) {
    o["type"] = kTypeNames[only];
  } else {
    json::object ts;
    for (std::size_t i = 0; i < kTypeCount; ++i)
      if (n.types[i]) ts[kTypeNames[i]] = n.types[i];
    o["types"] = std::move(ts);
  }
  o["count"] = n.seen;
  o["nulls"] = n.types[kNull];
  if (missing) o["missing"] = *missing;
  const bool stats = lv.stats && !structure_only;
  const std::size_t scalars = n.types[kBool] + n.types[kInt] + n.types[kNum] + n.types[kStr];
  if (stats && scalars) {
    o["distinct"] = n.distinct(scalars);
    if (n.hashes_full) o["distinct_estimated"] = true;
  }
  if (stats && n.num_min) {
    o["min"] = *n.num_min;
    o["max"] = *n.num_max;
  }
  if (stats && n.date_min) {
    o["min_date"] = *n.date_min;
    o["max_date"] = *n.date_max;
  }
  if (stats && lv.top && !n.top.empty()) {
    // Counts shown are what each value is known to have: exact without eviction, else the
    // space-saving lower bound (count - error), and only values known to occur twice or more.
    std::vector<std::pair<std::string_view, std::size_t>> tv;
    tv.reserve(n.top.size());
    for (const auto& c : n.top)
      if (!n.top_evicted || c.count - c.error >= 2) tv.emplace_back(c.value, c.count - c.error);
    const std::size_t k = std::min(lv.top, tv.size());
    std::partial_sort(tv.begin(), tv.begin() + static_cast<std::ptrdiff_t>(k), tv.end(),
                      [](const auto& a, const auto& b) {
                        return a.second != b.second ? a.second > b.second : a.first < b.first;
                      });
    json::array top;
    for (std::size_t i = 0; i < k; ++i) {
      std::string shown(tv[i].first);
      if (shown.size() >= kTopValueBytes) shown += "...";
      top.push_back(json::array{json::value(shown), json::value(tv[i].second)});
    }
    if (!top.empty()) o["top"] = std::move(top);
    if (n.top_evicted) o["top_approximate"] = true;
  }
  if (n.types[kArr]) o["length"] = json::object{{"min", n.len_min}, {"max", n.len_max}};
  if (depth < lv.depth) {
    if (n.items) o["items"] = render_node(*n.items, lv, structure_only, depth + 1, std::nullopt);
    if (!n.keys.empty()) {
      json::object ks;
      for (const auto& [k, child] : n.keys)
        ks[k] = render_node(*child, lv, structure_only, depth + 1, n.objects - child->seen);
      o["keys"] = std::move(ks);
    }
  } else if (n.items || !n.keys.empty()) {
    o["nested_not_shown"] = true;
  }
  if (n.untracked_keys) o["untracked_key_occurrences"] = n.untracked_keys;
  if (n.untracked_nesting) o["nesting_not_described"] = true;
  return o;
}

// The view of a caller that may use the value but not read it: a key, an array's items or a
// JSON type is named only where at least `k` values were seen at its place (the value itself:
// its type always), and no count of any kind is shown. A place seen fewer than k times says
// something about fewer than k items -- possibly one -- so it is not described at all, nor is
// anything below it. Counts are left out even above k: per-field null and missing counts
// differ between two stored values that differ by one item, and array lengths and the count
// of each type are statistics of single items (the longest array, the one string among
// numbers).
json::object render_structure(const ShapeNode& n, const Level& lv, std::size_t k,
                              std::size_t depth) {
  json::object o;
  json::array names;
  for (std::size_t i = 0; i < kTypeCount; ++i)
    if (n.types[i] && (depth == 0 || n.types[i] >= k)) names.emplace_back(kTypeNames[i]);
  if (names.size() == 1)
    o["type"] = names[0];
  else if (!names.empty())
    o["types"] = std::move(names);
  const bool items = n.items && n.items->seen >= k;
  const bool keys = std::any_of(n.keys.begin(), n.keys.end(),
                                [&](const auto& kv) { return kv.second->seen >= k; });
  if (depth < lv.depth) {
    if (items) o["items"] = render_structure(*n.items, lv, k, depth + 1);
    if (keys) {
      json::object ks;
      for (const auto& [name, child] : n.keys)
        if (child->seen >= k) ks[name] = render_structure(*child, lv, k, depth + 1);
      o["keys"] = std::move(ks);
    }
  } else if (items || keys) {
    o["nested_not_shown"] = true;
  }
  return o;
}

}  // namespace

ShapeProfile::ShapeProfile(const json::value& v) : value_(v) {
  Builder b{nodes_};
  root_ = b.make();
  b.add(*root_, v, 0);
}

ShapeProfile::~ShapeProfile() = default;

ShapeView ShapeProfile::render(bool structure_only, std::size_t min_seen,
                               const std::function<bool(const json::value&)>& fits) const {
  structure_only = structure_only || min_seen > 0;
  const json::array* rows = value_.is_array() ? &value_.get_array() : nullptr;
  const std::size_t row_count = rows ? rows->size() : 0;
  std::vector<Level> levels;
  std::vector<std::vector<std::string>> why;
  auto push = [&](Level lv, std::vector<std::string> w) {
    levels.push_back(lv);
    why.push_back(std::move(w));
  };
  if (!structure_only) {
    for (std::size_t ex = std::min(kExamples, row_count) + 1; ex-- > 0;) {
      std::vector<std::string> w;
      if (ex < std::min(kExamples, row_count))
        w.push_back(ex ? "example rows after the first " + std::to_string(ex) : "example rows");
      push(Level{ex, 5, true, kMaxDepth + 1}, w);
    }
    for (std::size_t top : {3, 1}) {
      std::vector<std::string> w = why.back();
      if (std::find(w.begin(), w.end(), "example rows") == w.end() && row_count)
        w.emplace_back("example rows");
      w.push_back("frequent values after the first " + std::to_string(top) + " of each field");
      push(Level{0, top, true, kMaxDepth + 1}, w);
    }
    push(Level{0, 0, false, kMaxDepth + 1},
         row_count ? std::vector<std::string>{"example rows",
                                              "per-field statistics (distinct counts, min/max, "
                                              "frequent values)"}
                   : std::vector<std::string>{"per-field statistics (distinct counts, min/max, "
                                              "frequent values)"});
  } else {
    push(Level{0, 0, false, kMaxDepth + 1}, {});
  }
  for (std::size_t depth : {2, 1}) {
    std::vector<std::string> w = why.back();
    w.push_back("keys and items nested deeper than " + std::to_string(depth) + " levels");
    push(Level{0, 0, false, depth}, w);
  }

  ShapeView view;
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const Level& lv = levels[i];
    json::object o = min_seen ? render_structure(*root_, lv, min_seen, 0)
                              : render_node(*root_, lv, structure_only, 0, std::nullopt);
    if (lv.examples && rows) {
      json::array ex;
      for (std::size_t r = 0; r < lv.examples && r < row_count; ++r) ex.push_back((*rows)[r]);
      o["examples"] = std::move(ex);
    }
    view.preview = std::move(o);
    view.dropped = why[i];
    view.examples = lv.examples && rows ? std::min(lv.examples, row_count) : 0;
    if (fits(view.preview)) {
      view.fits = true;
      return view;
    }
  }
  return view;
}

PreviewResult generate_shape(const json::value& value, const PreviewRequest& request,
                             const PreviewConfig& config) {
  const ShapeProfile profile(value);
  auto fits = [&](const json::value& v) { return measure_units(v, config) <= request.max_size; };
  const std::size_t k = request.execute_only_min_items;
  ShapeView view = profile.render(request.structure_only, k, fits);
  PreviewResult r;
  r.strategy = PreviewStrategy::kShape;
  if (k == 0) {
    r.original_size = measure_units(value, config, request.known_total_chars);
  }
  r.omitted["summarised"] = true;
  const bool count_told = k == 0 || (value.is_array() && value.get_array().size() >= k) ||
                          (value.is_object() && value.get_object().size() >= k);
  // Otherwise neither total_items nor omitted.items: the count of fewer than k items is not
  // told.
  if (count_told && value.is_array()) {
    r.total_items = value.get_array().size();
    r.sampled_items = view.examples;
    if (*r.total_items > view.examples) r.omitted["items"] = *r.total_items - view.examples;
  } else if (count_told && value.is_object()) {
    r.total_items = value.get_object().size();
    r.sampled_items = 0;
    if (*r.total_items) r.omitted["items"] = *r.total_items;
  }
  if (request.structure_only || k) r.omitted["values_withheld"] = true;
  if (k) {
    // Always stated, whether or not anything was left out, so that it tells nothing.
    r.omitted["counts_withheld"] = true;
    r.omitted["shown_if_seen_at_least"] = k;
  }
  if (!view.dropped.empty()) {
    json::array d;
    for (auto& w : view.dropped) d.emplace_back(w);
    r.omitted["dropped"] = std::move(d);
  }
  if (view.fits) {
    r.preview = std::move(view.preview);
  } else {
    PreviewRequest sub;
    sub.max_size = request.max_size;
    sub.strategy = PreviewStrategy::kSample;
    PreviewResult cut = generate_preview(view.preview, sub, config);
    r.preview = std::move(cut.preview);
    r.omitted["cut_to_budget"] = std::move(cut.omitted);
  }
  r.preview_size = measure_units(r.preview, config);
  r.complete = false;
  return r;
}

}  // namespace refcache::detail
