// Custom preview strategies: the library's guarantees around a server author's function.
#include <boost/json.hpp>

#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"
#include "refcache/preview.hpp"

namespace refcache {
namespace json = boost::json;

PreviewResult generate_custom_preview(const json::value& value, const PreviewFunction& fn,
                                      const PreviewRequest& request, const PreviewConfig& config) {
  if (request.max_size == 0) throw InvalidArgument("max_size must be at least 1");
  PreviewBudget budget;
  budget.max_size = request.max_size;
  budget.size_mode = config.size_mode;
  budget.max_chars = config.size_mode == SizeMode::kCharacter
                         ? request.max_size
                         : request.max_size * (config.chars_per_token ? config.chars_per_token : 4);
  CustomPreview c = fn(value, budget);

  PreviewResult r;
  r.original_size = measure_units(value, config, request.known_total_chars);
  if (value.is_array()) r.total_items = value.get_array().size();
  if (value.is_object()) r.total_items = value.get_object().size();
  r.omitted = std::move(c.omitted);
  if (measure_units(c.preview, config) > request.max_size) {
    PreviewRequest sub;
    sub.max_size = request.max_size;
    sub.strategy = PreviewStrategy::kSample;
    PreviewResult cut = generate_preview(c.preview, sub, config);
    r.preview = std::move(cut.preview);
    r.omitted["cut_to_budget"] = std::move(cut.omitted);
  } else {
    r.preview = std::move(c.preview);
  }
  r.preview_size = measure_units(r.preview, config);
  r.complete = r.omitted.empty() && r.preview == value;
  if (!r.complete && r.omitted.empty()) r.omitted["unstated"] = true;
  if (r.complete) r.sampled_items = r.total_items;
  return r;
}

}  // namespace refcache
