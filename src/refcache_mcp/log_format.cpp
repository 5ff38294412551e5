#include "refcache_mcp/log_format.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cctype>
#include <ctime>
#include <memory>
#include <stdexcept>

#include "mcp/trace_scope.hpp"
#include "refcache/log_context.hpp"

namespace refcache::mcp {

namespace {

constexpr std::string_view kRedacted = "[redacted]";

bool iequals_prefix(std::string_view text, std::size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i]) return false;
  return true;
}

bool token_char(char c) {
  return !std::isspace(static_cast<unsigned char>(c)) && c != '"' && c != '\'' && c != ',' &&
         c != ';';
}

// "2026-12-07T00:16:13.123456Z"
std::string utc_time(std::chrono::system_clock::time_point t) {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  (void)std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(us % 1000000));
  return std::string(buf, n) + frac;
}

std::string_view level_name(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

using Secrets = std::shared_ptr<const std::vector<std::string>>;

class JsonFormatter : public spdlog::formatter {
 public:
  explicit JsonFormatter(Secrets secrets) : secrets_(std::move(secrets)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string line =
        json_log_line(msg.time, level_name(msg.level),
                      std::string_view(msg.payload.data(), msg.payload.size()), *secrets_);
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(secrets_);
  }

 private:
  Secrets secrets_;
};

// spdlog's default pattern, with secrets masked in the message.
class TextFormatter : public spdlog::formatter {
 public:
  explicit TextFormatter(Secrets secrets) : secrets_(std::move(secrets)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string masked =
        redact_secrets(std::string_view(msg.payload.data(), msg.payload.size()), *secrets_);
    spdlog::details::log_msg copy(msg);
    copy.payload = spdlog::string_view_t(masked.data(), masked.size());
    pattern_.format(copy, dest);
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>(secrets_);
  }

 private:
  Secrets secrets_;
  spdlog::pattern_formatter pattern_{};
};

}  // namespace

std::string url_password(std::string_view url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  const std::size_t start = scheme + 3;
  // The user info ends at the last '@' (a password may hold '@' or '/').
  const std::size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return {};
  const std::size_t colon = url.find(':', start);
  if (colon == std::string_view::npos || colon > at) return {};
  return std::string(url.substr(colon + 1, at - colon - 1));
}

std::string redact_secrets(std::string_view text, const std::vector<std::string>& secrets) {
  std::string known(text);
  for (const std::string& s : secrets) {
    if (s.empty()) continue;
    for (std::size_t at = known.find(s); at != std::string::npos;
         at = known.find(s, at + kRedacted.size()))
      known.replace(at, s.size(), kRedacted);
  }
  const std::string_view rest = known;
  std::string out;
  out.reserve(rest.size());
  std::size_t i = 0;
  while (i < rest.size()) {
    // "Bearer <token>" (any case).
    if (iequals_prefix(rest, i, "bearer ") &&
        (i == 0 || !std::isalnum(static_cast<unsigned char>(rest[i - 1])))) {
      std::size_t j = i + 7;
      while (j < rest.size() && rest[j] == ' ') ++j;
      std::size_t k = j;
      while (k < rest.size() && token_char(rest[k])) ++k;
      if (k > j) {
        out.append(rest.substr(i, j - i));
        out.append(kRedacted);
        i = k;
        continue;
      }
    }
    // "scheme://user:<password>@host": the password goes.
    if (rest.compare(i, 3, "://") == 0) {
      std::size_t end = i + 3;
      while (end < rest.size() && token_char(rest[end]) && rest[end] != '/' && rest[end] != '@')
        ++end;
      if (end < rest.size() && rest[end] == '@') {
        const std::string_view userinfo = rest.substr(i + 3, end - i - 3);
        if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
          out.append(rest.substr(i, 3 + colon + 1));
          out.append(kRedacted);
          out.push_back('@');
          i = end + 1;
          continue;
        }
      }
    }
    out.push_back(rest[i]);
    ++i;
  }
  return out;
}

std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view message, const std::vector<std::string>& secrets) {
  boost::json::object o;
  o["time"] = utc_time(time);
  o["level"] = level;
  o["message"] = redact_secrets(message, secrets);
  if (const ::mcp::TraceContext* t = ::mcp::current_trace()) {
    o["trace_id"] = t->trace_id();
    o["span_id"] = t->span_id();
  }
  if (std::string_view tool = ::mcp::current_tool(); !tool.empty()) o["tool"] = tool;
  if (const LogFields* f = current_log_fields()) {
    if (!f->ref_id.empty()) o["ref_id"] = f->ref_id;
    if (!f->operation.empty()) o["operation"] = f->operation;
    if (f->duration_us) o["duration_us"] = *f->duration_us;
  }
  return boost::json::serialize(o);
}

void configure_logging(const LoggingOptions& options) {
  const auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off")
    throw std::invalid_argument("unknown log level '" + options.level +
                                "' (trace, debug, info, warn, error, critical, off)");
  // One stderr sink for the program's logger and the SDK's own ("mcp-stderr", which the stdio
  // transport makes the default; "mcp-client"), so that every line has the chosen format.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto secrets = std::make_shared<const std::vector<std::string>>(options.secrets);
  auto make = [&](const std::string& name) {
    auto logger = std::make_shared<spdlog::logger>(name, sink);
    if (options.format == LogFormat::kJson)
      logger->set_formatter(std::make_unique<JsonFormatter>(secrets));
    else
      logger->set_formatter(std::make_unique<TextFormatter>(secrets));
    logger->set_level(level);
    return logger;
  };
  for (const char* name : {"mcp-stderr", "mcp-client"}) {
    spdlog::drop(name);
    spdlog::register_logger(make(name));
  }
  spdlog::set_default_logger(make("refcache"));
  // Background jobs of RefCache (async cached calls) keep the trace of the request that
  // started them.
  refcache::set_context_carrier(
      [](std::function<void()> job) { return ::mcp::bind_current_trace(std::move(job)); });
}

}  // namespace refcache::mcp
