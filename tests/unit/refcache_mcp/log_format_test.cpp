// The structured log lines (refcache_mcp/log_format.hpp): the JSON fields, the trace and the
// LogFields of the logging thread, the masking of secrets, the InstrumentedBackend's line per
// operation at debug (and none above), and the context carrier configure_logging sets.
#include "refcache_mcp/log_format.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <future>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "mcp/trace_scope.hpp"
#include "refcache/instrumented_backend.hpp"
#include "refcache/log_context.hpp"
#include "refcache/memory_backend.hpp"

namespace {

namespace bj = boost::json;
using refcache::mcp::json_log_line;
using refcache::mcp::redact_secrets;

constexpr const char* kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

bj::object parse_line(const std::string& line) {
  return bj::parse(line).as_object();
}

TEST(JsonLogLine, HasTimeLevelAndMessageAndNoTraceOutsideOne) {
  const auto t =
      std::chrono::system_clock::time_point(std::chrono::microseconds(1'700'000'000'123'456));
  bj::object o = parse_line(json_log_line(t, "info", "hello \"world\"\n"));
  EXPECT_EQ(o.at("time").as_string(), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(o.at("level").as_string(), "info");
  EXPECT_EQ(o.at("message").as_string(), "hello \"world\"\n");
  EXPECT_FALSE(o.contains("trace_id"));
  EXPECT_FALSE(o.contains("span_id"));
  EXPECT_FALSE(o.contains("tool"));
  EXPECT_FALSE(o.contains("operation"));
}

TEST(JsonLogLine, CarriesTheThreadsTraceToolAndFields) {
  auto trace = mcp::TraceContext::parse(kTraceparent);
  ASSERT_TRUE(trace);
  mcp::TraceScope scope(*trace, "add");
  refcache::LogFieldsScope fields({.operation = "get", .ref_id = "calc:abc", .duration_us = 42});
  bj::object o = parse_line(json_log_line(std::chrono::system_clock::now(), "debug", "m"));
  EXPECT_EQ(o.at("trace_id").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(o.at("span_id").as_string(), "00f067aa0ba902b7");
  EXPECT_EQ(o.at("tool").as_string(), "add");
  EXPECT_EQ(o.at("operation").as_string(), "get");
  EXPECT_EQ(o.at("ref_id").as_string(), "calc:abc");
  EXPECT_EQ(o.at("duration_us").as_int64(), 42);
}

TEST(RedactSecrets, MasksEveryOccurrenceOfTheSecretsItWasGiven) {
  const std::vector<std::string> secrets{"tok-alpha", "", "pa55"};
  EXPECT_EQ(redact_secrets("token=tok-alpha; again tok-alphatok-alpha; pw pa55", secrets),
            "token=[redacted]; again [redacted][redacted]; pw [redacted]");
  bj::object o =
      parse_line(json_log_line(std::chrono::system_clock::now(), "info", "saw tok-alpha", secrets));
  EXPECT_EQ(o.at("message").as_string(), "saw [redacted]");
  EXPECT_EQ(refcache::mcp::url_password("redis://user:pa55@db:6379/0"), "pa55");
  EXPECT_EQ(refcache::mcp::url_password("redis://:p@ss/x@db/0"), "p@ss/x");
  EXPECT_EQ(refcache::mcp::url_password("redis://user@db/0"), "");
  EXPECT_EQ(refcache::mcp::url_password("sqlite:/tmp/x.db"), "");
}

TEST(RedactSecrets, MasksBearerTokensAndUrlPasswords) {
  EXPECT_EQ(redact_secrets("Authorization: Bearer s3cr3t-T0ken.x"),
            "Authorization: Bearer [redacted]");
  EXPECT_EQ(redact_secrets("header \"bearer abc\" seen"), "header \"bearer [redacted]\" seen");
  EXPECT_EQ(redact_secrets("redis://user:hunter2@db:6379/0 down"),
            "redis://user:[redacted]@db:6379/0 down");
  EXPECT_EQ(redact_secrets("rediss://:p%40ss@h/1"), "rediss://:[redacted]@h/1");
  // Nothing secret: unchanged.
  for (const char* s : {"redis://db:6379/0", "http://user@host/", "a:b@c", "BearerX y", ""})
    EXPECT_EQ(redact_secrets(s), s);
  // The scheme's name is case-insensitive; prose that looks like it is masked too, the safe
  // side.
  EXPECT_EQ(redact_secrets("the bearer of news"), "the bearer [redacted] news");
  bj::object o = parse_line(
      json_log_line(std::chrono::system_clock::now(), "warn", "Bearer tok123 at redis://u:pw@h"));
  EXPECT_EQ(o.at("message").as_string(), "Bearer [redacted] at redis://u:[redacted]@h");
}

// Formats each line as the JSON format does, on the logging thread.
class JsonCapture : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<bj::object> lines() {
    std::lock_guard lk(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.push_back(parse_line(json_log_line(
        msg.time, "debug", std::string_view(msg.payload.data(), msg.payload.size()))));
  }
  void flush_() override {}

 private:
  std::vector<bj::object> lines_;
};

class BackendLogLines : public ::testing::Test {
 protected:
  BackendLogLines() : saved_(spdlog::default_logger()) {
    capture_ = std::make_shared<JsonCapture>();
    auto logger = std::make_shared<spdlog::logger>("capture", capture_);
    spdlog::set_default_logger(logger);
  }
  ~BackendLogLines() override { spdlog::set_default_logger(saved_); }

  std::shared_ptr<spdlog::logger> saved_;
  std::shared_ptr<JsonCapture> capture_;
};

TEST_F(BackendLogLines, OneLinePerOperationAtDebugWithTheTrace) {
  spdlog::set_level(spdlog::level::debug);
  refcache::InstrumentedBackend backend(std::make_shared<refcache::MemoryBackend>());
  auto e = std::make_shared<refcache::CacheEntry>();
  e->value = "the secret value 7f3a";
  {
    mcp::TraceScope scope(*mcp::TraceContext::parse(kTraceparent), "store_it");
    backend.set("ns:ref1", e);
    backend.get("ns:ref1");
  }
  backend.exists("ns:ref2");
  auto lines = capture_->lines();
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(lines[0].at("operation").as_string(), "set");
  EXPECT_EQ(lines[1].at("operation").as_string(), "get");
  EXPECT_EQ(lines[2].at("operation").as_string(), "exists");
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(lines[i].at("ref_id").as_string(), "ns:ref1");
    EXPECT_EQ(lines[i].at("trace_id").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(lines[i].at("tool").as_string(), "store_it");
    EXPECT_GE(lines[i].at("duration_us").as_int64(), 0);
  }
  EXPECT_EQ(lines[2].at("ref_id").as_string(), "ns:ref2");
  EXPECT_FALSE(lines[2].contains("trace_id"));
  for (const auto& l : lines)
    EXPECT_EQ(bj::serialize(l).find("7f3a"), std::string::npos) << "a value reached the log";
}

TEST_F(BackendLogLines, NoLinesAboveDebug) {
  spdlog::set_level(spdlog::level::info);
  refcache::InstrumentedBackend backend(std::make_shared<refcache::MemoryBackend>());
  backend.exists("ns:x");
  backend.get("ns:x");
  EXPECT_TRUE(capture_->lines().empty());
}

TEST(ConfigureLogging, CarriesTheTraceIntoBackgroundJobsAndRefusesUnknownLevels) {
  auto saved = spdlog::default_logger();
  EXPECT_THROW(refcache::mcp::configure_logging({.level = "loud"}), std::invalid_argument);
  refcache::mcp::configure_logging({.format = refcache::mcp::LogFormat::kJson, .level = "error"});
  std::function<void()> job;
  std::string seen = "unset";
  {
    mcp::TraceScope scope(*mcp::TraceContext::parse(kTraceparent));
    job = refcache::carry_context([&seen] {
      const mcp::TraceContext* t = mcp::current_trace();
      seen = t ? t->traceparent() : "none";
    });
  }
  std::thread(job).join();
  EXPECT_EQ(seen, kTraceparent);
  refcache::set_context_carrier({});
  spdlog::set_default_logger(saved);
}

}  // namespace
