// The shape of a value: what the `shape` preview strategy shows instead of the value's items.
//
// ShapeProfile reads a value once and keeps, for each place in it (the value, its items, each
// key of its objects, recursively): how many values were seen there and of which JSON types,
// how many were null and (for keys) how many objects lacked the key, the lengths of arrays,
// and for scalars: a distinct-count estimate (exact up to kExactDistinct values, then a KMV
// sketch of the kExactDistinct smallest hashes), min/max of numbers and of ISO-8601 date
// strings (compared as text), and the most frequent strings (space-saving counters, exact
// while fewer than kTopCounters distinct strings are seen). Memory is bounded whatever the
// value: at most kMaxNodes places, kMaxDepth levels and kMaxKeys keys per object are tracked;
// what is not tracked is counted and reported as such. The first kExamples items of an array
// are kept as example rows (pointers into the value, which must outlive the profile).
//
// render() gives the largest view that `fits` accepts, degrading in this order: fewer
// example rows, fewer frequent values, no per-field statistics, no nested keys, and states in
// `dropped` what it left out. With `structure_only`, no value of the data appears at all:
// keys, types, null and missing counts and array lengths only. With a threshold k > 0 (the
// view of a caller that may EXECUTE but not READ, PreviewRequest::execute_only_min_items),
// not even counts: only the keys and types seen at least k times at their place, and the
// value's own type.
//
// Thread-safety: a profile is immutable once built; render() may run concurrently.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "refcache/preview.hpp"

namespace refcache::detail {

inline constexpr std::size_t kExactDistinct = 512;
inline constexpr std::size_t kTopCounters = 32;
inline constexpr std::size_t kMaxNodes = 512;
inline constexpr std::size_t kMaxDepth = 8;
inline constexpr std::size_t kMaxKeys = 100;
inline constexpr std::size_t kExamples = 3;

struct ShapeNode;

struct ShapeView {
  boost::json::value preview{};
  std::vector<std::string> dropped{};  // what this view left out to fit, in words
  std::size_t examples = 0;            // example rows shown
  bool fits = false;                   // false: even the smallest view did not fit
};

class ShapeProfile {
 public:
  explicit ShapeProfile(const boost::json::value& v);
  ~ShapeProfile();
  ShapeProfile(const ShapeProfile&) = delete;
  ShapeProfile& operator=(const ShapeProfile&) = delete;

  // The fullest view for which fits(view) holds; the smallest view (fits = false) if none.
  // `min_seen` > 0 gives the structure of what was seen at least that many times, without
  // counts (implies structure_only).
  ShapeView render(bool structure_only, std::size_t min_seen,
                   const std::function<bool(const boost::json::value&)>& fits) const;

 private:
  const boost::json::value& value_;
  std::unique_ptr<ShapeNode> root_;
  std::size_t nodes_ = 0;
};

// The `shape` strategy: the profile of `value` rendered within request.max_size (units of
// `config`). When even the smallest view is too large, it is sampled down (strategy sample)
// and omitted.cut_to_budget says what that left out.
PreviewResult generate_shape(const boost::json::value& value, const PreviewRequest& request,
                             const PreviewConfig& config);

}  // namespace refcache::detail
