// The log output of refcache's programs (the example servers, the gateway): one line per
// event on stderr (stdout belongs to the stdio transport), in one of two formats:
//   text  spdlog's default pattern, "[time] [refcache] [level] message" (the default);
//   json  one JSON object per line: time (UTC, RFC 3339 with microseconds), level, message,
//         and, when known, trace_id and span_id (mcp::current_trace(): the request being
//         served), tool (mcp::current_tool()), and ref_id, operation and duration_us
//         (refcache::current_log_fields(): a backend operation).
// In both formats, secrets are masked in the message before it is written: every occurrence of
// a secret the program was given (LoggingOptions::secrets: its bearer tokens, the password of
// its backend URL), and whatever has the shape of one ("Bearer <token>", the password of
// "scheme://user:<password>@").
//
// configure_logging() also makes RefCache's background jobs carry the trace of the thread that
// submitted them (refcache::set_context_carrier with mcp::bind_current_trace), so that what an
// asynchronous cached call logs belongs to the request that started it.
//
// Thread-safety: configure_logging() once at start, before other threads log; the formatting
// functions are pure and may be called from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace refcache::mcp {

enum class LogFormat { kText, kJson };

struct LoggingOptions {
  // The line format (--log-format, REFCACHE_LOG_FORMAT).
  LogFormat format{LogFormat::kText};
  // The least severe level written (--log-level, REFCACHE_LOG_LEVEL): trace, debug, info,
  // warn, error, critical or off. At debug every request and every backend operation writes a
  // line.
  std::string level{"info"};
  // Texts never written: each occurrence in a message becomes "[redacted]" (the bearer tokens
  // and the backend URL's password; parse_server_flags fills it). Empty strings are ignored.
  std::vector<std::string> secrets{};
};

// Installs the default logger ("refcache", on stderr) with `options`. Throws
// std::invalid_argument on an unknown level name.
void configure_logging(const LoggingOptions& options);

// The JSON log line (without the newline) of an event at `time` with `level` ("info",
// "debug", ...) and `message`, with the fields of the current thread's trace, tool and
// LogFields. The message is masked as redact_secrets() does.
std::string json_log_line(std::chrono::system_clock::time_point time, std::string_view level,
                          std::string_view message, const std::vector<std::string>& secrets = {});

// `text` with every occurrence of `secrets`, bearer tokens and the passwords of URLs replaced
// by "[redacted]".
std::string redact_secrets(std::string_view text, const std::vector<std::string>& secrets = {});

// The password of a URL's user info ("scheme://user:<password>@host..."), as written; empty
// when it has none.
std::string url_password(std::string_view url);

}  // namespace refcache::mcp
