// metrics: lock-free counters, gauges and fixed-bucket histograms, and a writer for the
// Prometheus text exposition format 0.0.4. Both the MCP SDK (`mcp`) and the cache core
// (`refcache`) record into these; neither depends on the other.
//
// Recording costs one or two relaxed atomic additions (a histogram also scans its bucket
// bounds, about a dozen comparisons), so hot paths may record unconditionally. Reading is
// done by the exposition writer at scrape time; a snapshot taken while other threads record
// is not a single instant, but every bucket and count it reports is monotonic.
//
// Thread-safety: Counter, Gauge and Histogram are safe from any thread. TextWriter is a plain
// value used by one thread.
//
//   metrics::Histogram latency(metrics::latency_buckets());
//   latency.observe(0.0021);                       // seconds
//   metrics::TextWriter w;
//   w.family("app_latency_seconds", "histogram", "How long it took.");
//   w.histogram("app_latency_seconds", {{"op", "get"}}, latency);
//   std::string body = w.take();                   // text/plain; version=0.0.4
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace metrics {

// A monotonic count.
class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void set(std::int64_t v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t d) noexcept { v_.fetch_add(d, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// Fixed-bucket histogram. Buckets are upper bounds (inclusive, as Prometheus' `le`), in the
// base unit of what is observed (seconds, bytes); +Inf is implicit.
class Histogram {
 public:
  // REQUIRES: `upper_bounds` strictly increasing and finite. Throws std::invalid_argument.
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(double v) noexcept;

  struct Snapshot {
    std::vector<double> upper_bounds;       // without +Inf
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& upper_bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (the +Inf one)
  std::atomic<double> sum_{0};
};

// 50 µs .. 10 s: backend and request latencies, in seconds.
std::vector<double> latency_buckets();

using Label = std::pair<std::string_view, std::string_view>;
using Labels = std::initializer_list<Label>;

// `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
bool valid_metric_name(std::string_view name);
// `name` is a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
bool valid_label_name(std::string_view name);
// A label value as the text format wants it: \ " and newline escaped.
std::string escape_label_value(std::string_view v);
// HELP text: \ and newline escaped.
std::string escape_help(std::string_view v);
// A sample value: shortest round-trip decimal; integers without exponent up to 2^53;
// +Inf, -Inf, NaN.
std::string format_value(double v);

// Writes the text exposition format. Families must be written whole, one after another:
// family() then its samples.
class TextWriter {
 public:
  // "# HELP name help" and "# TYPE name type". `type` is counter, gauge, histogram, summary
  // or untyped. Throws std::invalid_argument for an invalid name or type, or a family
  // written twice.
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample line. `name` is the family name, plus a suffix for histograms.
  // Throws std::invalid_argument for an invalid label name.
  void sample(std::string_view name, Labels labels, double value);
  void sample(std::string_view name, const std::vector<Label>& labels, double value);
  void sample(std::string_view name, Labels labels, std::uint64_t value);
  void sample(std::string_view name, Labels labels, std::int64_t value);
  // name_bucket{labels...,le="..."} (cumulative), name_sum, name_count.
  void histogram(std::string_view name, Labels labels, const Histogram::Snapshot& s);
  void histogram(std::string_view name, Labels labels, const Histogram& h) {
    histogram(name, labels, h.snapshot());
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void line(std::string_view name, const Label* labels, std::size_t n, const Label* extra,
            std::string_view value);
  std::string out_;
  std::vector<std::string> families_;
};

// The Content-Type of the text format.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace metrics
