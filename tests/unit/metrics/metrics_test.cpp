// The Prometheus text format writer, histograms, the SDK's request/tool/session metrics and
// InstrumentedBackend.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <thread>

#include "jsonio/json_text.hpp"
#include "mcp/server.hpp"
#include "metrics/metrics.hpp"
#include "refcache/errors.hpp"
#include "refcache/instrumented_backend.hpp"
#include "refcache/memory_backend.hpp"
#include "unit/recording_outbound.hpp"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsFormat, LabelValuesAreEscaped) {
  EXPECT_EQ(metrics::escape_label_value("plain"), "plain");
  EXPECT_EQ(metrics::escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  metrics::TextWriter w;
  w.family("x_total", "counter", "Help with a \\ and a\nnewline.");
  w.sample("x_total", {{"path", "C:\\dir"}, {"q", "say \"hi\"\n"}}, std::uint64_t{3});
  EXPECT_EQ(w.str(),
            "# HELP x_total Help with a \\\\ and a\\nnewline.\n"
            "# TYPE x_total counter\n"
            "x_total{path=\"C:\\\\dir\",q=\"say \\\"hi\\\"\\n\"} 3\n");
}

TEST(MetricsFormat, HistogramBucketsAreCumulativeWithSumAndCount) {
  metrics::Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 5.0, 50.0}) h.observe(v);  // 0.1 falls in le="0.1"
  auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum, 55.65);
  metrics::TextWriter w;
  w.family("op_seconds", "histogram", "Latency.");
  w.histogram("op_seconds", {{"op", "get"}}, h);
  EXPECT_EQ(w.str(),
            "# HELP op_seconds Latency.\n"
            "# TYPE op_seconds histogram\n"
            "op_seconds_bucket{op=\"get\",le=\"0.1\"} 2\n"
            "op_seconds_bucket{op=\"get\",le=\"1\"} 3\n"
            "op_seconds_bucket{op=\"get\",le=\"10\"} 4\n"
            "op_seconds_bucket{op=\"get\",le=\"+Inf\"} 5\n"
            "op_seconds_sum{op=\"get\"} 55.65\n"
            "op_seconds_count{op=\"get\"} 5\n");
}

TEST(MetricsFormat, EmptyHistogramAndUnlabelled) {
  metrics::Histogram h({0.5});
  metrics::TextWriter w;
  w.family("h", "histogram", "");
  w.histogram("h", {}, h);
  EXPECT_EQ(w.str(),
            "# HELP h \n# TYPE h histogram\nh_bucket{le=\"0.5\"} 0\nh_bucket{le=\"+Inf\"} "
            "0\nh_sum 0\nh_count 0\n");
}

TEST(MetricsFormat, Values) {
  EXPECT_EQ(metrics::format_value(1), "1");
  EXPECT_EQ(metrics::format_value(-3), "-3");
  EXPECT_EQ(metrics::format_value(0.5), "0.5");
  EXPECT_EQ(metrics::format_value(0.00005), "0.00005");
  EXPECT_EQ(metrics::format_value(1e-9), "1e-09");
  EXPECT_EQ(metrics::format_value(1e20), "1e+20");
  EXPECT_EQ(metrics::format_value(123456.25), "123456.25");
  EXPECT_EQ(metrics::format_value(1.5e20), "1.5e+20");
  EXPECT_EQ(metrics::format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(metrics::format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(metrics::format_value(std::nan("")), "NaN");
}

TEST(MetricsFormat, NamesAreChecked) {
  EXPECT_TRUE(metrics::valid_metric_name("refcache_cache_hits_total"));
  EXPECT_TRUE(metrics::valid_metric_name("a:b"));
  EXPECT_FALSE(metrics::valid_metric_name("1abc"));
  EXPECT_FALSE(metrics::valid_metric_name("a-b"));
  EXPECT_FALSE(metrics::valid_metric_name(""));
  EXPECT_TRUE(metrics::valid_label_name("op"));
  EXPECT_FALSE(metrics::valid_label_name("__reserved"));
  EXPECT_FALSE(metrics::valid_label_name("a:b"));
  metrics::TextWriter w;
  EXPECT_THROW(w.family("bad-name", "counter", ""), std::invalid_argument);
  EXPECT_THROW(w.family("ok", "countr", ""), std::invalid_argument);
  w.family("ok", "counter", "");
  EXPECT_THROW(w.family("ok", "counter", ""), std::invalid_argument);  // written twice
  EXPECT_THROW(w.sample("ok", {{"bad label", "v"}}, 1.0), std::invalid_argument);
  EXPECT_THROW(metrics::Histogram({1, 1}), std::invalid_argument);
  EXPECT_THROW(metrics::Histogram({2, 1}), std::invalid_argument);
  EXPECT_THROW(metrics::Histogram({1, std::numeric_limits<double>::infinity()}),
               std::invalid_argument);
}

TEST(MetricsFormat, ConcurrentObservationsAllCount) {
  metrics::Histogram h(metrics::latency_buckets());
  metrics::Counter c;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        h.observe(0.0001 * (i % 50) * (t + 1));
        c.inc();
      }
    });
  for (auto& t : ts) t.join();
  auto s = h.snapshot();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.cumulative.back(), 40000u);
  EXPECT_EQ(c.value(), 40000u);
  for (std::size_t i = 1; i < s.cumulative.size(); ++i)
    EXPECT_LE(s.cumulative[i - 1], s.cumulative[i]);
}

// --- InstrumentedBackend -------------------------------------------------------------------

refcache::EntryPtr entry(std::string ns, bj::value v) {
  auto e = std::make_shared<refcache::CacheEntry>();
  e->value = std::move(v);
  e->ns = std::move(ns);
  e->created_at = refcache::unix_now();
  return e;
}

TEST(InstrumentedBackend, TimesOperationsCountsFailuresAndForwardsEvents) {
  auto inner = std::make_shared<refcache::MemoryBackend>();
  refcache::InstrumentedBackend b(inner);
  EXPECT_EQ(b.kind(), "memory");
  std::vector<refcache::ChangeEvent> seen;
  b.subscribe([&](const refcache::ChangeEvent& e) { seen.push_back(e); });

  b.set("t:0000000000000001", entry("public", bj::array{1, 2, 3}));
  b.set("t:0000000000000001", entry("public", bj::array{4}));  // an overwrite: kUpdated
  EXPECT_TRUE(b.get("t:0000000000000001"));
  EXPECT_FALSE(b.get("t:0000000000000002"));
  EXPECT_TRUE(b.remove("t:0000000000000001"));
  EXPECT_THROW(b.list(std::nullopt, "not-a-cursor", 10), refcache::InvalidArgument);

  EXPECT_EQ(b.latency(refcache::BackendOp::kSet).snapshot().count, 2u);
  EXPECT_EQ(b.latency(refcache::BackendOp::kGet).snapshot().count, 2u);
  EXPECT_EQ(b.latency(refcache::BackendOp::kDelete).snapshot().count, 1u);
  EXPECT_EQ(b.latency(refcache::BackendOp::kList).snapshot().count, 1u);
  EXPECT_EQ(b.failures(refcache::BackendOp::kList), 1u);
  EXPECT_EQ(b.failures(refcache::BackendOp::kGet), 0u);

  ASSERT_EQ(seen.size(), 2u);  // events of the wrapped backend reach our listeners
  EXPECT_EQ(seen[0].kind, refcache::ChangeKind::kUpdated);
  EXPECT_EQ(seen[1].kind, refcache::ChangeKind::kDeleted);
  EXPECT_EQ(seen[1].ref_id, "t:0000000000000001");

  metrics::TextWriter w;
  b.write_metrics(w);
  const std::string t = w.str();
  EXPECT_TRUE(has_line(t, "refcache_cache_sets_total{backend=\"memory\"} 2")) << t;
  EXPECT_TRUE(has_line(t, "refcache_cache_hits_total{backend=\"memory\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "refcache_cache_misses_total{backend=\"memory\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "refcache_cache_entries{backend=\"memory\"} 0")) << t;
  EXPECT_TRUE(has_line(
      t, "refcache_backend_operation_duration_seconds_count{backend=\"memory\",op=\"set\"} 2"))
      << t;
  EXPECT_TRUE(has_line(t,
                       "refcache_backend_operation_duration_seconds_bucket{backend=\"memory\","
                       "op=\"set\",le=\"+Inf\"} 2"))
      << t;
  EXPECT_TRUE(
      has_line(t, "refcache_backend_operation_failures_total{backend=\"memory\",op=\"list\"} 1"))
      << t;
  // The memory backend has no circuit breaker: no gauge.
  EXPECT_EQ(t.find("refcache_backend_circuit_state"), std::string::npos);
}

TEST(InstrumentedBackend, CircuitStateIsAGaugeWhenKnown) {
  refcache::BackendStats st;
  st.circuit_state = 1;
  st.reconnects = 4;
  metrics::TextWriter w;
  refcache::write_backend_stats(w, "redis", st);
  EXPECT_TRUE(has_line(w.str(), "# TYPE refcache_backend_circuit_state gauge"));
  EXPECT_TRUE(has_line(w.str(), "refcache_backend_circuit_state{backend=\"redis\"} 1"));
  EXPECT_TRUE(has_line(w.str(), "refcache_backend_reconnects_total{backend=\"redis\"} 4"));
  EXPECT_EQ(w.str().find("refcache_cache_entries"), std::string::npos);  // -1: unknown
}

// --- the SDK's metrics ---------------------------------------------------------------------

using Sink = test_support::RecordingOutbound;

struct NumArgs {
  int n;
};
BOOST_DESCRIBE_STRUCT(NumArgs, (), (n))

TEST(SdkMetrics, ToolCallsByOutcomeSessionsAndSources) {
  mcp::Server server({.info = {.name = "m", .version = "1"}, .worker_threads = 2});
  server.tool<NumArgs>({.name = "twice", .description = ""},
                       [](const NumArgs& a, mcp::ToolContext&) -> std::string {
                         if (a.n < 0) throw mcp::Error(mcp::error_code::kInvalidParams, "neg");
                         if (a.n == 0) throw std::runtime_error("zero");
                         return std::to_string(2 * a.n);
                       });
  auto session = std::make_shared<mcp::Session>("s1", mcp::TransportKind::kStdio);
  server.attach(session);
  auto call = [&](std::string args) {
    auto out = std::make_shared<Sink>();
    server.handle(
        session,
        jsonio::parse_or_throw(
            R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"twice","arguments":)" +
            args + "}}"),
        out);
    EXPECT_TRUE(out->wait());
    return out->response;
  };
  call(R"({"n":2})");
  call(R"({"n":3})");
  EXPECT_TRUE(call(R"({"n":0})").at("result").at("isError").as_bool());    // tool_error
  EXPECT_TRUE(call(R"({"n":"x"})").at("result").at("isError").as_bool());  // bad args: tool_error
  EXPECT_TRUE(call(R"({"n":-1})").as_object().contains("error"));          // protocol_error
  server.add_metrics_source([](metrics::TextWriter& w) {
    w.family("app_things_total", "counter", "Things.");
    w.sample("app_things_total", {}, std::uint64_t{7});
  });

  std::string t = server.metrics_text();
  EXPECT_TRUE(has_line(t, "mcp_tool_calls_total{tool=\"twice\",outcome=\"ok\"} 2")) << t;
  EXPECT_TRUE(has_line(t, "mcp_tool_calls_total{tool=\"twice\",outcome=\"tool_error\"} 2")) << t;
  EXPECT_TRUE(has_line(t, "mcp_tool_calls_total{tool=\"twice\",outcome=\"protocol_error\"} 1"))
      << t;
  EXPECT_TRUE(has_line(t, "mcp_tool_call_duration_seconds_count{tool=\"twice\"} 5")) << t;
  EXPECT_TRUE(has_line(t, "mcp_requests_total{method=\"tools/call\"} 5")) << t;
  EXPECT_TRUE(has_line(t, "mcp_sessions_active{transport=\"stdio\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "mcp_sessions_created_total{transport=\"stdio\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "app_things_total 7")) << t;

  server.detach(session);
  session.reset();
  server.transport_metrics().count_http_response(404);
  server.transport_metrics().count_http_response(404);
  server.transport_metrics().count_session_expired();
  t = server.metrics_text();
  EXPECT_TRUE(has_line(t, "mcp_sessions_active{transport=\"stdio\"} 0")) << t;
  EXPECT_TRUE(has_line(t, "mcp_sessions_created_total{transport=\"stdio\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "mcp_http_responses_total{code=\"404\"} 2")) << t;
  EXPECT_TRUE(has_line(t, "mcp_sessions_expired_total 1")) << t;
  // Every family appears once.
  std::size_t pos = 0, types = 0;
  while ((pos = t.find("# TYPE mcp_tool_calls_total ", pos)) != std::string::npos) ++types, ++pos;
  EXPECT_EQ(types, 1u);
}

}  // namespace
