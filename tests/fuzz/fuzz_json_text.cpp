// jsonio: bounded parsing of untrusted text, and the writer's promises. Every component reads
// untrusted JSON through jsonio::parse and writes through jsonio::write, so:
//   - parse never throws and never recurses past max_depth;
//   - write/parse round-trips (the text reads back to an equal value, and writing that again
//     gives the same text);
//   - measure() counts exactly the bytes and code points write() produces;
//   - the canonical text is invariant under a round trip.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "jsonio/json_text.hpp"

namespace {

std::size_t count_code_points(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // First byte picks the limits; the rest is the text.
  jsonio::ParseLimits limits;
  limits.max_depth = 1 + (data[0] & 0x3F);  // 1..64
  if (data[0] & 0x40) limits.max_bytes = size / 2;
  std::string_view text = as_view(data + 1, size - 1);

  std::error_code ec;
  boost::json::value v = jsonio::parse(text, ec, limits);
  if (ec) {
    FUZZ_CHECK(v.is_null(), "a failed parse returns null");
    return 0;
  }
  FUZZ_CHECK(limits.max_bytes == 0 || text.size() <= limits.max_bytes, "max_bytes enforced");

  std::string out = jsonio::to_string(v);
  jsonio::TextSize ts = jsonio::measure(v);
  FUZZ_CHECK(ts.bytes == out.size(), "measure().bytes == size of to_string()");
  FUZZ_CHECK(ts.code_points == count_code_points(out),
             "measure().code_points == code points of to_string()");
  FUZZ_CHECK(jsonio::measure_code_points(v) == ts.code_points, "measure_code_points agrees");
  {
    std::string appended = "x";  // write_measured appends, whatever the hint
    jsonio::TextSize ws = jsonio::write_measured(v, appended, size % 8);
    FUZZ_CHECK(appended == "x" + out, "write_measured() appends what to_string() returns");
    FUZZ_CHECK(ws.bytes == ts.bytes && ws.code_points == ts.code_points,
               "write_measured() size == measure()");
  }

  // Round trip (depth is unchanged, so the same limit accepts it).
  jsonio::ParseLimits relaxed;
  relaxed.max_depth = limits.max_depth;
  std::error_code ec2;
  boost::json::value back = jsonio::parse(out, ec2, relaxed);
  FUZZ_CHECK(!ec2, "to_string() output parses");
  FUZZ_CHECK(jsonio::to_string(back) == out, "write(parse(write(v))) == write(v)");
  FUZZ_CHECK(jsonio::to_canonical_string(back) == jsonio::to_canonical_string(v),
             "canonical text survives a round trip");

  if (v.is_string()) {
    std::string_view s = v.get_string();
    std::string lit;
    jsonio::write_string_literal(s, lit);
    FUZZ_CHECK(lit == out, "write_string_literal agrees with write");
    jsonio::TextSize ls = jsonio::measure_string_literal(s);
    FUZZ_CHECK(ls.bytes == lit.size(), "measure_string_literal().bytes");
  }
  return 0;
}
