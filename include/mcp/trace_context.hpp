// mcp::TraceContext: a W3C Trace Context (https://www.w3.org/TR/trace-context/) -- the
// `traceparent` header's trace id, parent (span) id and flags, and the `tracestate` header
// carried opaquely -- as MCP requests carry it in params._meta (keys "traceparent" and
// "tracestate") and HTTP requests in headers of the same names.
//
// Parsing is strict where the recommendation is: a version-00 traceparent is exactly
// "00-<32 hex>-<16 hex>-<2 hex>" in lowercase; all-zero trace or parent ids, version "ff",
// uppercase hex and wrong lengths are refused. A later version is read by its first four
// fields when the header is longer only after a '-' (forward compatibility). A tracestate is
// kept as given when it is printable ASCII of at most kMaxTraceStateLength characters, and
// dropped otherwise (the traceparent alone still counts).
//
// Ids come from the OpenSSL CSPRNG. A TraceContext is a value: thread-safe as any value type.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mcp {

class TraceContext {
 public:
  // The longest tracestate kept (the recommendation's 32 list members of at most 256
  // characters each could reach 8 KiB; 512 characters keep logs and forwarded headers small).
  static constexpr std::size_t kMaxTraceStateLength = 512;

  // A new trace: a random trace id and span id, flags 01 (sampled).
  static TraceContext start();
  // The context `traceparent` (and `tracestate`) name, or nullopt when `traceparent` is not a
  // valid header value. An invalid tracestate is dropped, not an error.
  static std::optional<TraceContext> parse(std::string_view traceparent,
                                           std::string_view tracestate = {});

  // The same trace, flags and tracestate with a new random span id: the context of an
  // operation that this one's span caused (a served request, an outgoing call).
  TraceContext child() const;

  // "00-<trace id>-<span id>-<flags>", the traceparent naming this context's span as parent.
  std::string traceparent() const;
  // The tracestate received, or empty.
  const std::string& tracestate() const { return tracestate_; }
  // 32 and 16 lowercase hex digits.
  std::string trace_id() const;
  std::string span_id() const;
  std::uint8_t flags() const { return flags_; }
  bool sampled() const { return (flags_ & 1U) != 0; }

  friend bool operator==(const TraceContext&, const TraceContext&) = default;

 private:
  TraceContext() = default;
  std::array<std::uint8_t, 16> trace_id_{};
  std::array<std::uint8_t, 8> span_id_{};
  std::uint8_t flags_ = 0;
  std::string tracestate_{};
};

}  // namespace mcp
