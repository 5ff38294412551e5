#include "analysis.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <numeric>
#include <random>

namespace analysis {
namespace json = boost::json;

namespace {
std::string type_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "NoneType";
    case json::kind::bool_:
      return "bool";
    case json::kind::int64:
    case json::kind::uint64:
      return "int";
    case json::kind::double_:
      return "float";
    case json::kind::string:
      return "str";
    case json::kind::array:
      return "list";
    case json::kind::object:
      return "dict";
  }
  return "unknown";
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}
}  // namespace

std::vector<double> numbers(const json::value& v) {
  if (!v.is_array()) throw InputError("Expected list data, got " + type_name(v));
  std::vector<double> out;
  out.reserve(v.get_array().size());
  for (const auto& e : v.get_array()) {
    if (!e.is_number()) throw InputError("Expected a list of numbers, found " + type_name(e));
    out.push_back(e.to_number<double>());
  }
  return out;
}

json::object statistics(const std::vector<double>& d) {
  if (d.empty()) throw InputError("Empty dataset");
  const std::size_t n = d.size();
  const double sum = std::accumulate(d.begin(), d.end(), 0.0);
  const double mean = sum / static_cast<double>(n);
  const auto [mn, mx] = std::minmax_element(d.begin(), d.end());
  json::object o{{"count", n}, {"sum", sum}, {"mean", mean},
                 {"min", *mn}, {"max", *mx}, {"range", *mx - *mn}};
  if (n >= 2) {
    double ss = 0;
    for (double x : d) ss += (x - mean) * (x - mean);
    const double var = ss / static_cast<double>(n - 1);
    o["variance"] = var;
    o["std"] = std::sqrt(var);
  }
  o["median"] = median_of(d);
  if (n >= 4) {
    std::vector<double> s = d;
    std::sort(s.begin(), s.end());
    const std::size_t half = n / 2;
    std::vector<double> lower(s.begin(), s.begin() + static_cast<long>(half));
    std::vector<double> upper(s.begin() + static_cast<long>(n % 2 ? half + 1 : half), s.end());
    const double q1 = median_of(lower), q3 = median_of(upper);
    o["q1"] = q1;
    o["q3"] = q3;
    o["iqr"] = q3 - q1;
  }
  return o;
}

std::vector<double> transform(const std::vector<double>& d, const std::string& op, double scale) {
  if (d.empty()) throw InputError("Empty dataset");
  std::vector<double> out;
  out.reserve(d.size());
  if (op == "normalize") {
    const auto [mn, mx] = std::minmax_element(d.begin(), d.end());
    const double range = *mx - *mn;
    for (double x : d) out.push_back(range == 0 ? 0.5 : (x - *mn) / range);
  } else if (op == "standardize") {
    if (d.size() < 2) throw InputError("Need at least 2 values to standardize");
    const double mean = std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(d.size());
    double ss = 0;
    for (double x : d) ss += (x - mean) * (x - mean);
    const double sd = std::sqrt(ss / static_cast<double>(d.size() - 1));
    for (double x : d) out.push_back(sd == 0 ? 0.0 : (x - mean) / sd);
  } else if (op == "scale") {
    for (double x : d) out.push_back(x * scale);
  } else if (op == "log") {
    for (double x : d) {
      if (x <= 0) throw InputError("Log transform requires all positive values");
      out.push_back(std::log(x));
    }
  } else if (op == "sqrt") {
    for (double x : d) {
      if (x < 0) throw InputError("Sqrt transform requires all non-negative values");
      out.push_back(std::sqrt(x));
    }
  } else if (op == "abs") {
    for (double x : d) out.push_back(std::abs(x));
  } else if (op == "diff") {
    if (d.size() < 2) throw InputError("Need at least 2 values for diff");
    for (std::size_t i = 1; i < d.size(); ++i) out.push_back(d[i] - d[i - 1]);
  } else if (op == "cumsum") {
    double s = 0;
    for (double x : d) out.push_back(s += x);
  } else {
    throw InputError("Unknown operation: " + op +
                     ". Valid operations: normalize, standardize, scale, log, sqrt, abs, diff, "
                     "cumsum");
  }
  return out;
}

std::vector<double> aggregate(const std::vector<std::vector<double>>& datasets,
                              const std::string& operation) {
  if (datasets.empty()) throw InputError("No datasets provided");
  std::vector<double> out;
  if (operation == "concat") {
    for (const auto& d : datasets) out.insert(out.end(), d.begin(), d.end());
    return out;
  }
  if (operation == "sum" || operation == "mean") {
    for (const auto& d : datasets)
      if (d.size() != datasets[0].size())
        throw InputError("All datasets must have the same length for " + operation + " operation");
    out.assign(datasets[0].size(), 0.0);
    for (const auto& d : datasets)
      for (std::size_t i = 0; i < d.size(); ++i) out[i] += d[i];
    if (operation == "mean")
      for (double& x : out) x /= static_cast<double>(datasets.size());
    return out;
  }
  if (operation == "zip") {
    std::size_t longest = 0;
    for (const auto& d : datasets) longest = std::max(longest, d.size());
    for (std::size_t i = 0; i < longest; ++i)
      for (const auto& d : datasets)
        if (i < d.size()) out.push_back(d[i]);
    return out;
  }
  throw InputError("Unknown operation: " + operation +
                   ". Valid operations: concat, sum, mean, zip");
}

std::vector<double> sample(int size, const std::string& distribution, double min_value,
                           double max_value) {
  if (size < 1 || size > 10000) throw InputError("Size must be between 1 and 10000");
  if (!(max_value > min_value)) throw InputError("max_value must be greater than min_value");
  std::random_device rd;
  std::mt19937_64 rng(rd());
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(size));
  const double range = max_value - min_value;
  if (distribution == "uniform") {
    std::uniform_real_distribution<double> u(min_value, max_value);
    for (int i = 0; i < size; ++i) out.push_back(u(rng));
  } else if (distribution == "normal") {
    std::normal_distribution<double> g(min_value + range / 2, range / 6);
    for (int i = 0; i < size; ++i) out.push_back(g(rng));
  } else if (distribution == "exponential") {
    std::exponential_distribution<double> e(1.0 / (range / 3));
    for (int i = 0; i < size; ++i) out.push_back(min_value + e(rng));
  } else {
    throw InputError("Unknown distribution: " + distribution +
                     ". Valid distributions: uniform, normal, exponential");
  }
  return out;
}

}  // namespace analysis
