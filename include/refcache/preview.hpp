// Previews: a size-bounded view of a large value, the thing an agent sees instead of it.
//
// Three strategies, as in the reference:
//   sample    (default) evenly spaced items of a list or members of an object, first and last
//             kept; strings are truncated; nested values are shrunk when even one item does
//             not fit (the reference returns that item whole, however large);
//   paginate  one page of items (or, for a string, of characters), trimmed to the budget;
//   truncate  the compact JSON text cut to fit, ending in "...".
// Sizes are measured on the compact JSON actually returned (jsonio), in characters (Unicode
// code points) or tokens; until a real tokenizer exists, tokens = ceil(characters / 4).
// Searches never re-serialize the whole value per step: each item is measured at most once.
// Thread-safety: PreviewGenerator is stateless; generate() may run concurrently.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace refcache {

enum class SizeMode { kToken, kCharacter };
enum class PreviewStrategy { kSample, kPaginate, kTruncate };

std::string_view to_string(SizeMode m);         // "token", "character"
std::string_view to_string(PreviewStrategy s);  // "sample", "paginate", "truncate"
std::optional<SizeMode> size_mode_from_string(std::string_view s);
std::optional<PreviewStrategy> preview_strategy_from_string(std::string_view s);

struct PreviewConfig {
  SizeMode size_mode = SizeMode::kToken;  // the reference's default
  std::size_t max_size = 1000;            // in size_mode units; must be > 0
  PreviewStrategy default_strategy = PreviewStrategy::kSample;
  std::size_t chars_per_token = 4;  // token mode: ceil(chars / this)
};

// Converts a character count to the configured unit.
inline std::size_t to_units(std::size_t chars, const PreviewConfig& c) {
  if (c.size_mode == SizeMode::kCharacter) return chars;
  return (chars + c.chars_per_token - 1) / c.chars_per_token;
}

struct PreviewRequest {
  std::size_t max_size = 1000;  // units of `config.size_mode`
  PreviewStrategy strategy = PreviewStrategy::kSample;
  std::optional<std::int64_t> page{};       // paginate: 1-based; REQUIRES >= 1
  std::optional<std::int64_t> page_size{};  // paginate: REQUIRES >= 1 (default 20)
  // Character count of the whole value's compact JSON, if already known (RefCache stores it
  // at set time), so that previews of huge values need not measure every item.
  std::optional<std::size_t> known_total_chars{};
};

struct PreviewResult {
  boost::json::value preview{};
  PreviewStrategy strategy = PreviewStrategy::kSample;
  std::size_t original_size = 0;  // units
  std::size_t preview_size = 0;   // units
  std::optional<std::size_t> total_items{};
  std::optional<std::size_t> sampled_items{};
  std::optional<std::int64_t> page{};
  std::optional<std::int64_t> total_pages{};
  std::optional<std::int64_t> page_size{};
};

inline constexpr std::int64_t kDefaultPageSize = 20;

// Builds the preview of `value`. Throws InvalidArgument for max_size 0, page < 1 or
// page_size < 1. A page past the end gives an empty page (never an error).
PreviewResult generate_preview(const boost::json::value& value, const PreviewRequest& request,
                               const PreviewConfig& config);

}  // namespace refcache
