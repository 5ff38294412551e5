// The SSE parser: line splitting across chunks (LF, CR, CRLF), field parsing, dispatch.
#include "sse_parser.hpp"

namespace mcp::detail {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}

bool SseParser::fail(std::string why) {
  error_ = std::move(why);
  std::string().swap(line_);
  std::string().swap(data_);
  return false;
}

void SseParser::reset_partial() {
  line_.clear();
  data_.clear();
  type_.clear();
  has_data_ = false;
  after_cr_ = false;
  at_start_ = true;
  bom_partial_.clear();
}

bool SseParser::feed(std::string_view chunk, const std::function<void(SseEvent&)>& on_event) {
  if (failed()) return false;
  if (!at_start_) return feed_body(chunk, on_event);
  // A BOM may be split across chunks: hold the first bytes until they decide.
  bom_partial_.append(chunk);
  if (bom_partial_.size() < kBom.size() && kBom.substr(0, bom_partial_.size()) == bom_partial_)
    return true;
  at_start_ = false;
  std::string first = std::move(bom_partial_);
  bom_partial_.clear();
  std::string_view rest(first);
  if (rest.substr(0, kBom.size()) == kBom) rest.remove_prefix(kBom.size());
  return feed_body(rest, on_event);
}

bool SseParser::feed_body(std::string_view chunk, const std::function<void(SseEvent&)>& on_event) {
  while (!chunk.empty()) {
    if (after_cr_) {
      after_cr_ = false;
      if (chunk.front() == '\n') {
        chunk.remove_prefix(1);
        continue;
      }
    }
    const auto end = chunk.find_first_of("\r\n");
    std::string_view part = chunk.substr(0, end);
    if (line_.size() + part.size() > max_)
      return fail("the server sent an SSE line longer than " + std::to_string(max_) + " bytes");
    if (end == std::string_view::npos) {
      line_.append(part);
      break;
    }
    after_cr_ = chunk[end] == '\r';
    if (line_.empty()) {
      line(part, on_event);
    } else {
      line_.append(part);
      std::string l = std::move(line_);
      line_.clear();
      line(l, on_event);
    }
    if (failed()) return false;
    chunk.remove_prefix(end + 1);
  }
  return !failed();
}

void SseParser::line(std::string_view l, const std::function<void(SseEvent&)>& on_event) {
  if (l.empty()) {
    // Dispatch: an event needs at least one data line.
    if (has_data_) {
      SseEvent ev;
      ev.type = std::move(type_);
      ev.data = std::move(data_);
      if (!ev.data.empty() && ev.data.back() == '\n') ev.data.pop_back();
      ev.id = last_id_;
      data_.clear();
      has_data_ = false;
      type_.clear();
      on_event(ev);
    } else {
      type_.clear();
    }
    return;
  }
  if (l.front() == ':') return;  // a comment (keep-alives)
  const auto colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_) {
      fail("the server sent an SSE event larger than " + std::to_string(max_) + " bytes");
      return;
    }
    data_.append(value);
    data_.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (field == "retry") {
    if (!value.empty() && value.size() <= 12 &&
        value.find_first_not_of("0123456789") == std::string_view::npos)
      retry_ = std::chrono::milliseconds(std::stoll(std::string(value)));
  }
}

}  // namespace mcp::detail
