// Wire shapes of the value types in include/mcp/types.hpp.
#include "mcp/types.hpp"

#include <algorithm>

#include "jsonio/json_text.hpp"

namespace mcp {

namespace bj = boost::json;

const std::vector<std::string>& legacy_versions() {
  static const std::vector<std::string> v{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
  return v;
}
const std::vector<std::string>& modern_versions() {
  static const std::vector<std::string> v{"2026-07-28"};
  return v;
}
bool is_legacy_version(std::string_view v) {
  const auto& l = legacy_versions();
  return std::find(l.begin(), l.end(), v) != l.end();
}
bool is_modern_version(std::string_view v) {
  const auto& l = modern_versions();
  return std::find(l.begin(), l.end(), v) != l.end();
}

namespace {
void put_if(bj::object& o, const char* key, const std::string& s) {
  if (!s.empty()) o[key] = s;
}
bj::array icons_json(const std::vector<Icon>& icons) {
  bj::array a;
  for (const auto& i : icons) a.push_back(i.to_json());
  return a;
}
}  // namespace

json Icon::to_json() const {
  bj::object o{{"src", src}};
  put_if(o, "mimeType", mime_type);
  if (!sizes.empty()) {
    bj::array a;
    for (const auto& s : sizes) a.emplace_back(s);
    o["sizes"] = std::move(a);
  }
  return o;
}

json Implementation::to_json() const {
  bj::object o{{"name", name}, {"version", version}};
  put_if(o, "title", title);
  put_if(o, "description", description);
  put_if(o, "websiteUrl", website_url);
  if (!icons.empty()) o["icons"] = icons_json(icons);
  return o;
}

bool ToolAnnotations::empty() const {
  return !title && !read_only_hint && !destructive_hint && !idempotent_hint && !open_world_hint;
}

json ToolAnnotations::to_json() const {
  bj::object o;
  if (title) o["title"] = *title;
  if (read_only_hint) o["readOnlyHint"] = *read_only_hint;
  if (destructive_hint) o["destructiveHint"] = *destructive_hint;
  if (idempotent_hint) o["idempotentHint"] = *idempotent_hint;
  if (open_world_hint) o["openWorldHint"] = *open_world_hint;
  return o;
}

json ToolSpec::to_json() const {
  bj::object o{{"name", name}};
  put_if(o, "title", title);
  o["description"] = description;
  o["inputSchema"] = input_schema.is_null() ? json(bj::object{{"type", "object"}}) : input_schema;
  if (!output_schema.is_null()) o["outputSchema"] = output_schema;
  if (!annotations.empty()) o["annotations"] = annotations.to_json();
  if (!icons.empty()) o["icons"] = icons_json(icons);
  if (!meta.empty()) o["_meta"] = meta;
  if (task_support != TaskSupport::kForbidden)
    o["execution"] = bj::object{{"taskSupport", mcp::to_string(task_support)}};
  return o;
}

const char* to_string(TaskSupport t) {
  switch (t) {
    case TaskSupport::kOptional:
      return "optional";
    case TaskSupport::kRequired:
      return "required";
    default:
      return "forbidden";
  }
}

json text_content(std::string text) {
  return bj::object{{"type", "text"}, {"text", std::move(text)}};
}
json image_content(std::string data, std::string mime) {
  return bj::object{{"type", "image"}, {"data", std::move(data)}, {"mimeType", std::move(mime)}};
}
json audio_content(std::string data, std::string mime) {
  return bj::object{{"type", "audio"}, {"data", std::move(data)}, {"mimeType", std::move(mime)}};
}
json resource_link(std::string uri, std::string name, const std::string& description,
                   const std::string& mime_type) {
  bj::object o{{"type", "resource_link"}, {"uri", std::move(uri)}, {"name", std::move(name)}};
  put_if(o, "description", description);
  put_if(o, "mimeType", mime_type);
  return o;
}
json embedded_text_resource(std::string uri, const std::string& mime_type,
                            const std::string& text) {
  bj::object r{{"uri", std::move(uri)}};
  put_if(r, "mimeType", mime_type);
  r["text"] = text;
  return bj::object{{"type", "resource"}, {"resource", std::move(r)}};
}
json embedded_blob_resource(std::string uri, const std::string& mime_type,
                            const std::string& base64_blob) {
  bj::object r{{"uri", std::move(uri)}};
  put_if(r, "mimeType", mime_type);
  r["blob"] = base64_blob;
  return bj::object{{"type", "resource"}, {"resource", std::move(r)}};
}

CallToolResult CallToolResult::text(std::string t) {
  CallToolResult r;
  r.content.push_back(text_content(std::move(t)));
  return r;
}
CallToolResult CallToolResult::error(std::string message) {
  CallToolResult r = text(std::move(message));
  r.is_error = true;
  return r;
}
CallToolResult CallToolResult::structured(json value) {
  CallToolResult r;
  r.content.push_back(text_content(jsonio::to_string(value)));
  r.structured_content = std::move(value);
  return r;
}
json CallToolResult::to_json() const {
  bj::object o{{"content", content}};
  if (structured_content) o["structuredContent"] = *structured_content;
  if (is_error) o["isError"] = true;
  if (!meta.empty()) o["_meta"] = meta;
  return o;
}

json Resource::to_json() const {
  bj::object o{{"uri", uri}, {"name", name}};
  put_if(o, "title", title);
  put_if(o, "description", description);
  put_if(o, "mimeType", mime_type);
  if (size) o["size"] = *size;
  if (!icons.empty()) o["icons"] = icons_json(icons);
  if (!annotations.empty()) o["annotations"] = annotations;
  return o;
}

json ResourceTemplate::to_json() const {
  bj::object o{{"uriTemplate", uri_template}, {"name", name}};
  put_if(o, "title", title);
  put_if(o, "description", description);
  put_if(o, "mimeType", mime_type);
  if (!icons.empty()) o["icons"] = icons_json(icons);
  return o;
}

json ResourceContents::to_json() const {
  bj::object o{{"uri", uri}};
  put_if(o, "mimeType", mime_type);
  if (text) o["text"] = *text;
  if (blob) o["blob"] = *blob;
  if (!text && !blob) o["text"] = "";
  if (!meta.empty()) o["_meta"] = meta;
  return o;
}

json ReadResourceResult::to_json() const {
  bj::array a;
  for (const auto& c : contents) a.push_back(c.to_json());
  return bj::object{{"contents", std::move(a)}};
}

json PromptSpec::to_json() const {
  bj::object o{{"name", name}};
  put_if(o, "title", title);
  put_if(o, "description", description);
  if (!arguments.empty()) {
    bj::array a;
    for (const auto& arg : arguments) {
      bj::object x{{"name", arg.name}};
      put_if(x, "description", arg.description);
      x["required"] = arg.required;
      a.push_back(std::move(x));
    }
    o["arguments"] = std::move(a);
  }
  if (!icons.empty()) o["icons"] = icons_json(icons);
  return o;
}

json GetPromptResult::to_json() const {
  bj::object o;
  put_if(o, "description", description);
  bj::array a;
  for (const auto& m : messages) a.push_back(bj::object{{"role", m.role}, {"content", m.content}});
  o["messages"] = std::move(a);
  return o;
}

json Completion::to_json() const {
  bj::array v;
  for (std::size_t i = 0; i < values.size() && i < 100; ++i) v.emplace_back(values[i]);
  bj::object c{{"values", std::move(v)}};
  if (total) c["total"] = *total;
  c["hasMore"] = has_more || values.size() > 100;
  return bj::object{{"completion", std::move(c)}};
}

const char* to_string(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kNotice:
      return "notice";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
    case LogLevel::kCritical:
      return "critical";
    case LogLevel::kAlert:
      return "alert";
    case LogLevel::kEmergency:
      return "emergency";
  }
  return "info";
}

std::optional<LogLevel> parse_log_level(std::string_view s) {
  static const char* names[] = {"debug", "info",     "notice", "warning",
                                "error", "critical", "alert",  "emergency"};
  for (int i = 0; i < 8; ++i)
    if (s == names[i]) return static_cast<LogLevel>(i);
  return std::nullopt;
}

}  // namespace mcp
