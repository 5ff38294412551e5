// The MCP client's Server-Sent Events parser (src/mcp/sse_parser.hpp) on arbitrary streams.
// Properties: the events, the last event id, the retry delay and the failure do not depend on
// how the stream is cut into chunks (the network cuts it anywhere: inside a line, a field name,
// a CRLF pair or the BOM); no event's data exceeds the parser's bound; after a failure nothing
// more is dispatched.
//
// Input: byte 0 seeds the chunk boundaries; the rest is the stream.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "mcp/sse_parser.hpp"

namespace {

constexpr std::size_t kMaxEvent = 256;

struct Run {
  std::vector<mcp::detail::SseEvent> events;
  bool failed = false;
  std::string last_id;
  long long retry_ms = -1;
};

Run parse(std::string_view stream, std::uint8_t seed) {
  mcp::detail::SseParser p(kMaxEvent);
  Run r;
  auto on_event = [&](mcp::detail::SseEvent& e) {
    FUZZ_CHECK(!r.failed, "no event after a failure");
    FUZZ_CHECK(e.data.size() <= kMaxEvent, "an event's data stays within the bound");
    r.events.push_back(e);
  };
  std::uint32_t state = seed;
  std::size_t at = 0;
  while (at < stream.size()) {
    std::size_t n = stream.size() - at;
    if (seed != 0) {
      state = state * 1103515245u + 12345u;  // chunk lengths 1..8
      n = std::min<std::size_t>(n, 1 + (state >> 16) % 8);
    }
    const bool ok = p.feed(stream.substr(at, n), on_event);
    if (!ok) r.failed = true;
    FUZZ_CHECK(ok == !p.failed(), "feed() answers what failed() says");
    at += n;
  }
  r.last_id = p.last_event_id();
  if (auto rt = p.retry()) r.retry_ms = rt->count();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view stream = as_view(data + 1, size - 1);
  const Run whole = parse(stream, 0);
  const Run cut = parse(stream, data[0] == 0 ? 1 : data[0]);
  FUZZ_CHECK(whole.failed == cut.failed, "failure does not depend on the chunks");
  if (!whole.failed) {
    FUZZ_CHECK(whole.events.size() == cut.events.size(), "the same number of events");
    for (std::size_t i = 0; i < whole.events.size(); ++i) {
      FUZZ_CHECK(whole.events[i].type == cut.events[i].type, "the same event types");
      FUZZ_CHECK(whole.events[i].data == cut.events[i].data, "the same event data");
      FUZZ_CHECK(whole.events[i].id == cut.events[i].id, "the same event ids");
    }
    FUZZ_CHECK(whole.last_id == cut.last_id, "the same last event id");
    FUZZ_CHECK(whole.retry_ms == cut.retry_ms, "the same retry");
  }
  return 0;
}
