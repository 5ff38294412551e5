#include "metrics/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace metrics {

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]))
      throw std::invalid_argument("histogram bounds must be finite (+Inf is implicit)");
    if (i > 0 && !(bounds_[i] > bounds_[i - 1]))
      throw std::invalid_argument("histogram bounds must increase strictly");
  }
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) noexcept {
  // Few buckets: a linear scan beats a binary search and stays branch-predictable.
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.upper_bounds = bounds_;
  s.cumulative.resize(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = acc;
  }
  // The count is the +Inf bucket by construction, so buckets and count always agree.
  s.count = acc;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> latency_buckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

bool valid_metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view n) {
  if (n.empty() || n.substr(0, 2) == "__") return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) <= 9007199254740992.0) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
    return std::string(buf, r.ptr);
  }
  char buf[64];
  // Shortest round-trip form; plain decimals (0.00005, not 5e-05) where they stay short.
  const double a = std::fabs(v);
  auto r = a >= 1e-6 && a < 1e15 ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                                 : std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void TextWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  if (!valid_metric_name(name))
    throw std::invalid_argument("invalid metric name: " + std::string(name));
  if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
      type != "untyped")
    throw std::invalid_argument("invalid metric type: " + std::string(type));
  if (std::find(families_.begin(), families_.end(), name) != families_.end())
    throw std::invalid_argument("metric family written twice: " + std::string(name));
  families_.emplace_back(name);
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void TextWriter::line(std::string_view name, const Label* labels, std::size_t n, const Label* extra,
                      std::string_view value) {
  if (!valid_metric_name(name))
    throw std::invalid_argument("invalid metric name: " + std::string(name));
  out_ += name;
  if (n > 0 || extra) {
    out_ += '{';
    bool first = true;
    auto put = [&](const Label& l) {
      if (!valid_label_name(l.first))
        throw std::invalid_argument("invalid label name: " + std::string(l.first));
      if (!first) out_ += ',';
      first = false;
      out_ += l.first;
      out_ += "=\"";
      out_ += escape_label_value(l.second);
      out_ += '"';
    };
    for (std::size_t i = 0; i < n; ++i) put(labels[i]);
    if (extra) put(*extra);
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void TextWriter::sample(std::string_view name, Labels labels, double value) {
  line(name, labels.begin(), labels.size(), nullptr, format_value(value));
}
void TextWriter::sample(std::string_view name, const std::vector<Label>& labels, double value) {
  line(name, labels.data(), labels.size(), nullptr, format_value(value));
}
void TextWriter::sample(std::string_view name, Labels labels, std::uint64_t value) {
  line(name, labels.begin(), labels.size(), nullptr, std::to_string(value));
}
void TextWriter::sample(std::string_view name, Labels labels, std::int64_t value) {
  line(name, labels.begin(), labels.size(), nullptr, std::to_string(value));
}

void TextWriter::histogram(std::string_view name, Labels labels, const Histogram::Snapshot& s) {
  std::string n(name);
  const std::string bucket = n + "_bucket";
  for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
    std::string le = i < s.upper_bounds.size() ? format_value(s.upper_bounds[i]) : "+Inf";
    Label extra{"le", le};
    line(bucket, labels.begin(), labels.size(), &extra, std::to_string(s.cumulative[i]));
  }
  line(n + "_sum", labels.begin(), labels.size(), nullptr, format_value(s.sum));
  line(n + "_count", labels.begin(), labels.size(), nullptr, std::to_string(s.count));
}

}  // namespace metrics
