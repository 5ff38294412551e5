#include "mcp/trace_context.hpp"

#include <algorithm>

#include "crypto.hpp"

namespace mcp {

namespace {

// The value of a lowercase hex digit, or -1.
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes exactly out.size() bytes of lowercase hex; false on any other character.
template <std::size_t N>
bool decode_hex(std::string_view s, std::array<std::uint8_t, N>& out) {
  if (s.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_value(s[2 * i]);
    const int lo = hex_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

template <std::size_t N>
std::string encode_hex(const std::array<std::uint8_t, N>& in) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * N);
  for (std::uint8_t b : in) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 0x0f]);
  }
  return s;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& a) {
  return std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
}

// Random bytes that are not all zero (an all-zero id is invalid).
template <std::size_t N>
void fill_random(std::array<std::uint8_t, N>& out) {
  do {
    const std::string r = crypto::random_bytes(N);
    std::copy(r.begin(), r.end(), out.begin());
  } while (all_zero(out));
}

bool valid_tracestate(std::string_view s) {
  if (s.size() > TraceContext::kMaxTraceStateLength) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

}  // namespace

TraceContext TraceContext::start() {
  TraceContext t;
  fill_random(t.trace_id_);
  fill_random(t.span_id_);
  t.flags_ = 1;
  return t;
}

std::optional<TraceContext> TraceContext::parse(std::string_view traceparent,
                                                std::string_view tracestate) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55.
  constexpr std::size_t kLength = 55;
  if (traceparent.size() < kLength) return std::nullopt;
  std::array<std::uint8_t, 1> version{};
  if (!decode_hex(traceparent.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0 ? traceparent.size() != kLength
                      : traceparent.size() > kLength && traceparent[kLength] != '-')
    return std::nullopt;
  if (traceparent[2] != '-' || traceparent[35] != '-' || traceparent[52] != '-')
    return std::nullopt;
  TraceContext t;
  std::array<std::uint8_t, 1> flags{};
  if (!decode_hex(traceparent.substr(3, 32), t.trace_id_) ||
      !decode_hex(traceparent.substr(36, 16), t.span_id_) ||
      !decode_hex(traceparent.substr(53, 2), flags))
    return std::nullopt;
  if (all_zero(t.trace_id_) || all_zero(t.span_id_)) return std::nullopt;
  t.flags_ = flags[0];
  if (valid_tracestate(tracestate)) t.tracestate_ = std::string(tracestate);
  return t;
}

TraceContext TraceContext::child() const {
  TraceContext t = *this;
  std::array<std::uint8_t, 8> span{};
  do {
    fill_random(span);
  } while (span == span_id_);
  t.span_id_ = span;
  return t;
}

std::string TraceContext::traceparent() const {
  std::array<std::uint8_t, 1> flags{flags_};
  return "00-" + encode_hex(trace_id_) + "-" + encode_hex(span_id_) + "-" + encode_hex(flags);
}

std::string TraceContext::trace_id() const {
  return encode_hex(trace_id_);
}

std::string TraceContext::span_id() const {
  return encode_hex(span_id_);
}

}  // namespace mcp
