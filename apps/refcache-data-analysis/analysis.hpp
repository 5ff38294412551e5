// The statistics and transforms of the data-analysis server, apart from MCP.
#pragma once

#include <boost/json/value.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace analysis {

// The message the agent sees. An std::invalid_argument, so that the cached-call layer passes
// its text on (see refcache::CachedCall::call).
struct InputError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Numbers out of a JSON value that must be a list of numbers ("Expected list data, got T").
std::vector<double> numbers(const boost::json::value& v);

// count, sum, mean, min, max, range; std and variance (sample) when n >= 2; median; q1, q3,
// iqr when n >= 4 (medians of the lower and upper halves, the middle element excluded).
boost::json::object statistics(const std::vector<double>& data);

// normalize | standardize | scale | log | sqrt | abs | diff | cumsum
std::vector<double> transform(const std::vector<double>& data, const std::string& operation,
                              double scale_factor);

// concat | sum | mean | zip over several datasets.
std::vector<double> aggregate(const std::vector<std::vector<double>>& datasets,
                              const std::string& operation);

// uniform | normal | exponential samples in [min, max] (normal: mean mid, std range/6).
std::vector<double> sample(int size, const std::string& distribution, double min_value,
                           double max_value);

}  // namespace analysis
