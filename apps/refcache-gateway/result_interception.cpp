#include "result_interception.hpp"

#include <algorithm>
#include <optional>

#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "result_memory.hpp"

namespace gateway {
namespace json = boost::json;

namespace {

bool is_text_block(const json::value& b) {
  if (!b.is_object()) return false;
  const auto& o = b.get_object();
  const auto* type = o.if_contains("type");
  const auto* text = o.if_contains("text");
  return type != nullptr && *type == "text" && text != nullptr && text->is_string();
}

// A text block's value: the JSON object or array it holds, else the text itself.
json::value text_value(const json::string& text, std::string& source) {
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i < text.size() && (text[i] == '{' || text[i] == '[')) {
    std::error_code ec;
    json::value v = jsonio::parse(std::string_view(text.data(), text.size()), ec);
    if (!ec && (v.is_object() || v.is_array())) {
      source = "json_text";
      return v;
    }
  }
  source = "text";
  return json::value(text);
}

// True when `structured` only repeats the one text block of `content` ({"content": TEXT},
// as servers with a text output schema answer): the text, parsed, says more.
bool wraps_text(const json::value& structured, const json::array& content) {
  if (!structured.is_object() || structured.get_object().size() != 1) return false;
  const json::value& only = structured.get_object().begin()->value();
  if (!only.is_string()) return false;
  std::size_t texts = 0;
  bool same = false;
  for (const auto& b : content)
    if (is_text_block(b)) {
      ++texts;
      same = b.get_object().at("text").get_string() == only.get_string();
    }
  return texts == 1 && same;
}

// True when `text` is `v`'s compact JSON, which is what a ref to `v` gives a string parameter
// anyway: keeping the text would store the result twice for nothing. Most texts that are not
// compact (indented, spaced) differ in length, which is known without writing them.
bool reproduces(const json::value& v, const json::string& text) {
  const std::size_t bytes = jsonio::measure(v).bytes;
  if (bytes != text.size()) return false;
  return jsonio::to_string_of_size(v, bytes) == std::string_view(text.data(), text.size());
}

}  // namespace

refcache::SetOptions result_scope(const refcache::RefCache& cache,
                                  const refcache::CallIdentity& who) {
  const refcache::CallDefaults& d = cache.options().call_defaults;
  refcache::SetOptions so;
  so.ns = d.namespace_template ? refcache::expand_template(*d.namespace_template, who.values)
                               : std::string("public");
  refcache::AccessPolicy policy = cache.options().default_policy;
  if (d.session_scoped) {
    auto it = who.values.find("session_id");
    if (it == who.values.end() || it->second.empty())
      throw refcache::InvalidArgument(
          "The gateway binds results to the caller's session, and this request has none "
          "(2026-07-28 requests are stateless)");
    policy.bound_session = it->second;
  }
  so.policy = policy;
  so.principal = refcache::quota_principal(who);
  return so;
}

json::value published_output_schema(const json::value& upstream_schema) {
  if (!upstream_schema.is_object()) return nullptr;
  json::object ref_answer{
      {"type", "object"},
      {"required", json::array{"ref_id"}},
      {"properties",
       json::object{{"ref_id", json::object{{"type", "string"},
                                            {"description",
                                             "The result is a ref: page it with "
                                             "get_cached_result, or pass it to tools"}}}}}};
  return json::object{{"type", "object"},
                      {"anyOf", json::array{upstream_schema, std::move(ref_answer)}}};
}

std::optional<StoredForm> stored_form(mcp::CallToolResult& result) {
  StoredForm f;
  if (result.structured_content && !wraps_text(*result.structured_content, result.content)) {
    f.source = "structuredContent";
    f.value = std::move(*result.structured_content);
    for (auto& b : result.content)
      if (!is_text_block(b)) f.others.push_back(std::move(b));
    return f;
  }
  if (std::none_of(result.content.begin(), result.content.end(), is_text_block))
    return std::nullopt;
  // A structuredContent that only wraps the text is a second copy of it (as large as the
  // result): let go before the text is parsed.
  result.structured_content.reset();
  json::array texts;
  json::string* last_text = nullptr;
  for (auto& b : result.content) {
    if (is_text_block(b)) {
      last_text = &b.as_object().at("text").as_string();
      texts.push_back(text_value(*last_text, f.source));
    } else {
      f.others.push_back(std::move(b));
    }
  }
  if (texts.size() == 1) {
    f.value = std::move(texts[0]);
    if (f.source == "json_text" && !reproduces(f.value, *last_text))
      f.original_text = std::move(*last_text);
  } else {
    f.value = std::move(texts);
    f.source = "text_blocks";
  }
  return f;
}

mcp::CallToolResult intercept(refcache::RefCache& cache, const refcache::CallIdentity& who,
                              mcp::CallToolResult result, const InterceptOptions& options) {
  const refcache::PreviewConfig& config = cache.options().preview;
  // Whether the result is over the threshold, not its full size: counting the tokens of a
  // large result would cost as much again as its preview, which counts them anyway.
  const bool too_large = refcache::exceeds_units(result.to_json(), config, options.threshold);
  if (!too_large && refcache::mcp::fits_hint(result, options.hint, config)) return result;

  std::optional<StoredForm> taken = stored_form(result);
  if (!taken) return result;  // neither structuredContent nor text: passed whole
  StoredForm& form = *taken;
  json::value value = std::move(form.value);
  const std::string source = std::move(form.source);
  json::array others = std::move(form.others);
  std::optional<json::string> original_text = std::move(form.original_text);

  refcache::SetOptions so = result_scope(cache, who);
  so.tool_name = options.tool;
  so.metadata = json::object{{"upstream", options.upstream}, {"source", source}};
  if (original_text) {
    refcache::SetOptions to = so;
    to.metadata = json::object{{"upstream", options.upstream}, {"source", "original_text"}};
    refcache::CacheReference text_ref = cache.set("", json::value(std::move(*original_text)), to);
    so.metadata[kOriginalTextRef] = text_ref.ref_id;
  }
  auto [ref, entry] = cache.store("", std::move(value), so);
  refcache::GetOptions go;
  go.ns = so.ns;
  // No strategy: the one get_cached_result uses, so a large list of objects (the rows of a
  // SELECT) first comes as its shape, naming the columns a query needs; other values as a
  // sample, unless the operator chose another default (--preview-strategy).
  const refcache::Actor actor = refcache::derive_actor(who);
  // Structured bindings are not captured by the lambda below.
  const std::string ref_id = ref.ref_id;
  refcache::EntryPtr stored = std::move(entry);
  auto answer_for = [&](std::size_t budget) {
    go.max_size = budget;
    // The entry as stored answers: no read back (and no second parse) of a large value.
    refcache::CacheResponse r = cache.preview(ref_id, stored, actor, go);
    const std::string why =
        too_large ? "was too large to show whole (" + std::to_string(r.original_size) + " " +
                        std::string(refcache::to_string(config.size_mode)) + "s)"
                  : "is larger than this call accepts";
    json::object out;
    out["ref_id"] = ref_id;
    out["preview"] = std::move(r.preview);
    out["is_complete"] = false;
    out["is_async"] = false;
    out["preview_strategy"] = refcache::to_string(r.preview_strategy);
    out["total_items"] = r.total_items ? json::value(*r.total_items) : json::value(nullptr);
    out["original_size"] = r.original_size;
    out["preview_size"] = r.preview_size;
    out["upstream"] = options.upstream;
    out["source"] = source;
    out["message"] = "The result of " + options.tool + " " + why +
                     ". Use get_cached_result(ref_id='" + ref_id +
                     "') to page through it, or pass the ref_id to other tools.";
    mcp::CallToolResult a = refcache::mcp::to_tool_result(out);
    for (const auto& b : others) a.content.push_back(b);
    return a;
  };
  // Without a hint this is the answer for preview_size; with one, the answer that fits it.
  mcp::CallToolResult answer =
      refcache::mcp::fit_to_hint(options.hint, options.preview_size, config, answer_for);
  answer.is_error = result.is_error;
  if (ref.total_size >= kReturnMemoryAbove) {
    // What a large result took (its text, its parsed value: freed in many small blocks that
    // glibc would keep in its arenas) goes back to the system now, rather than staying with
    // the process until another result of that size reuses it.
    stored.reset();
    result = mcp::CallToolResult();
    return_free_memory();
  }
  return answer;
}

}  // namespace gateway
