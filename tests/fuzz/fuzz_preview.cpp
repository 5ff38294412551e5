// Preview generation over arbitrary JSON and arbitrary sizes: every strategy, size mode and token
// counter, max_size from 0 to 2^64-1, page and page_size anywhere in int64 (including <= 0, which
// must be InvalidArgument, never a crash or an overflow), with and without known_total_chars.
#include <fuzzer/FuzzedDataProvider.h>

#include <boost/json.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "fuzz_util.hpp"
#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"
#include "refcache/preview.hpp"

namespace {

std::size_t pick_size(FuzzedDataProvider& p) {
  switch (p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return p.ConsumeIntegralInRange<std::size_t>(0, 64);
    case 1:
      return p.ConsumeIntegralInRange<std::size_t>(0, 5000);
    case 2:
      return std::numeric_limits<std::size_t>::max() - p.ConsumeIntegralInRange<std::size_t>(0, 4);
    default:
      return p.ConsumeIntegral<std::size_t>();
  }
}

std::int64_t pick_i64(FuzzedDataProvider& p) {
  switch (p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return p.ConsumeIntegralInRange<std::int64_t>(-2, 50);
    case 1:
      return std::numeric_limits<std::int64_t>::max() -
             p.ConsumeIntegralInRange<std::int64_t>(0, 4);
    case 2:
      return std::numeric_limits<std::int64_t>::min() +
             p.ConsumeIntegralInRange<std::int64_t>(0, 4);
    default:
      return p.ConsumeIntegral<std::int64_t>();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  // The first 8 bytes drive the parameters; the rest is the JSON value.
  FuzzedDataProvider p(data, 8);
  std::string_view text = as_view(data + 8, size - 8);
  std::error_code ec;
  boost::json::value value = jsonio::parse(text, ec);
  if (ec) value = boost::json::string(text);  // arbitrary text still makes a string value

  refcache::PreviewConfig cfg;
  cfg.size_mode = p.ConsumeBool() ? refcache::SizeMode::kCharacter : refcache::SizeMode::kToken;
  cfg.token_counter = static_cast<refcache::TokenCounter>(p.ConsumeIntegralInRange<int>(0, 2));
  cfg.chars_per_token = p.ConsumeIntegralInRange<std::size_t>(1, 8);
  cfg.max_size = 1 + p.ConsumeIntegralInRange<std::size_t>(0, 2000);
  cfg.default_strategy =
      static_cast<refcache::PreviewStrategy>(p.ConsumeIntegralInRange<int>(0, 2));

  refcache::PreviewRequest req;
  req.strategy = static_cast<refcache::PreviewStrategy>(p.ConsumeIntegralInRange<int>(0, 2));
  req.max_size = pick_size(p);
  if (p.ConsumeBool()) req.page = pick_i64(p);
  if (p.ConsumeBool()) req.page_size = pick_i64(p);
  if (p.ConsumeBool()) req.known_total_chars = jsonio::measure(value).code_points;

  try {
    refcache::PreviewResult r = refcache::generate_preview(value, req, cfg);
    std::string out = jsonio::to_string(r.preview);
    FUZZ_CHECK(r.preview_size == refcache::measure_units(r.preview, cfg),
               "preview_size is the measured size of the preview");
    FUZZ_CHECK(r.original_size == refcache::measure_units(value, cfg),
               "original_size is the measured size of the value");
  } catch (const refcache::InvalidArgument&) {
    // max_size 0, page < 1, page_size < 1
  }
  return 0;
}
