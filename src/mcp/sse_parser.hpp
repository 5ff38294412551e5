// Internal: a parser of text/event-stream (the Server-Sent Events format of the HTML standard),
// for the client's HTTP transport. It takes the stream in chunks cut anywhere (inside a line, a
// field name, a CRLF pair) and hands over each complete event. Lines end in LF, CR or CRLF; a
// leading UTF-8 BOM is skipped; lines starting with ':' are comments; `data` lines join with
// LF; `id` sets the last event id (kept across events, ignored when it holds NUL); `retry`
// (ASCII digits only) sets the reconnection delay; unknown fields are ignored. An event without
// a data line is not dispatched (as in a browser), but its id still counts.
//
// Bounded memory: a line, or the data of one event, longer than `max_event_bytes` fails the
// parser (feed() returns false, error() says why, and later feeds are refused): the caller
// closes the stream.
//
// Thread-safety: none; one parser belongs to one stream.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mcp::detail {

struct SseEvent {
  std::string type{};  // the `event` field; empty = "message"
  std::string data{};  // the data lines joined with LF (no trailing LF)
  std::string id{};    // the last event id when the event was dispatched
};

class SseParser {
 public:
  explicit SseParser(std::size_t max_event_bytes) : max_(max_event_bytes) {}

  // Parses `chunk`, calling `on_event` for each event it completes, in order. Returns false
  // once the parser failed (an oversize line or event); nothing is dispatched from then on.
  bool feed(std::string_view chunk, const std::function<void(SseEvent&)>& on_event);

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // The id of the last `id` field seen (what Last-Event-ID carries on a reconnection).
  const std::string& last_event_id() const { return last_id_; }
  // The last valid `retry` field.
  std::optional<std::chrono::milliseconds> retry() const { return retry_; }

  // Forgets a partial line and event (the connection ended), keeping the last event id and
  // retry, so that the stream can continue on a new connection.
  void reset_partial();

 private:
  // Parses bytes after the BOM check.
  bool feed_body(std::string_view chunk, const std::function<void(SseEvent&)>& on_event);
  // One complete line (without its end).
  void line(std::string_view l, const std::function<void(SseEvent&)>& on_event);
  bool fail(std::string why);

  std::size_t max_;
  std::string line_;         // the line being read
  bool after_cr_ = false;    // the previous byte ended a line with CR: a LF now belongs to it
  bool at_start_ = true;     // nothing read yet: a BOM may come
  std::string bom_partial_;  // the first bytes, while they may still be a BOM
  std::string data_;         // the data of the event being read, each line followed by LF
  bool has_data_ = false;
  std::string type_;
  std::string last_id_;
  std::optional<std::chrono::milliseconds> retry_;
  std::string error_;
};

}  // namespace mcp::detail
