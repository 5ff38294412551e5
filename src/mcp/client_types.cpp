// The wire shapes a client reads: the server's lists, results and errors as the SDK's value
// types (types.hpp), and the answers the client's handlers give. A member the protocol
// requires and the server left out (or sent with another type) is a malformed answer; an
// optional member of the wrong type is ignored.
#include "client_impl.hpp"
#include "jsonio/json_text.hpp"

namespace mcp {

namespace bj = boost::json;
using Kind = ClientError::Kind;

namespace detail {

void malformed(const std::string& what, const std::string& why) {
  throw ClientError(Kind::kMalformedAnswer, what + ": malformed answer: " + why);
}

namespace {

std::string str(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                  : std::string();
}

const bj::object& object_or_throw(const bj::value& v, const std::string& what) {
  if (!v.is_object()) malformed(what, "expected an object, got " + schema_detail::type_name(v));
  return v.get_object();
}

std::string required_str(const bj::object& o, std::string_view key, const std::string& what) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string())
    malformed(what, "\"" + std::string(key) + "\" is missing or not a string");
  return std::string(it->value().get_string());
}

std::vector<Icon> icons_from(const bj::object& o) {
  std::vector<Icon> icons;
  auto it = o.find("icons");
  if (it == o.end() || !it->value().is_array()) return icons;
  for (const auto& i : it->value().get_array()) {
    if (!i.is_object()) continue;
    const auto& io = i.get_object();
    Icon icon{.src = str(io, "src"), .mime_type = str(io, "mimeType")};
    if (auto s = io.find("sizes"); s != io.end() && s->value().is_array())
      for (const auto& x : s->value().get_array())
        if (x.is_string()) icon.sizes.emplace_back(x.get_string());
    icons.push_back(std::move(icon));
  }
  return icons;
}

std::optional<bool> opt_bool(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_bool()) return std::nullopt;
  return it->value().get_bool();
}

bj::object meta_of(const bj::object& o) {
  auto it = o.find("_meta");
  return it != o.end() && it->value().is_object() ? it->value().get_object() : bj::object{};
}

}  // namespace

Implementation implementation_from(const bj::value& v) {
  Implementation i;
  if (!v.is_object()) return i;
  const auto& o = v.get_object();
  i.name = str(o, "name");
  i.version = str(o, "version");
  i.title = str(o, "title");
  i.description = str(o, "description");
  i.website_url = str(o, "websiteUrl");
  i.icons = icons_from(o);
  return i;
}

ToolSpec tool_from(const bj::value& v) {
  const auto& o = object_or_throw(v, "tools/list: a tool");
  ToolSpec t;
  t.name = required_str(o, "name", "tools/list: a tool");
  t.title = str(o, "title");
  t.description = str(o, "description");
  if (auto s = o.find("inputSchema"); s != o.end()) t.input_schema = s->value();
  if (auto s = o.find("outputSchema"); s != o.end()) t.output_schema = s->value();
  if (auto a = o.find("annotations"); a != o.end() && a->value().is_object()) {
    const auto& ao = a->value().get_object();
    if (auto ti = ao.find("title"); ti != ao.end() && ti->value().is_string())
      t.annotations.title = std::string(ti->value().get_string());
    t.annotations.read_only_hint = opt_bool(ao, "readOnlyHint");
    t.annotations.destructive_hint = opt_bool(ao, "destructiveHint");
    t.annotations.idempotent_hint = opt_bool(ao, "idempotentHint");
    t.annotations.open_world_hint = opt_bool(ao, "openWorldHint");
  }
  t.icons = icons_from(o);
  t.meta = meta_of(o);
  if (auto e = o.find("execution"); e != o.end() && e->value().is_object()) {
    std::string ts = str(e->value().get_object(), "taskSupport");
    t.task_support = ts == "required"   ? TaskSupport::kRequired
                     : ts == "optional" ? TaskSupport::kOptional
                                        : TaskSupport::kForbidden;
  }
  return t;
}

Resource resource_from(const bj::value& v) {
  const auto& o = object_or_throw(v, "resources/list: a resource");
  Resource r;
  r.uri = required_str(o, "uri", "resources/list: a resource");
  r.name = str(o, "name");
  r.title = str(o, "title");
  r.description = str(o, "description");
  r.mime_type = str(o, "mimeType");
  if (auto s = o.find("size"); s != o.end() && s->value().is_int64())
    r.size = s->value().get_int64();
  r.icons = icons_from(o);
  if (auto a = o.find("annotations"); a != o.end() && a->value().is_object())
    r.annotations = a->value().get_object();
  return r;
}

ResourceTemplate resource_template_from(const bj::value& v) {
  const auto& o = object_or_throw(v, "resources/templates/list: a template");
  ResourceTemplate t;
  t.uri_template = required_str(o, "uriTemplate", "resources/templates/list: a template");
  t.name = str(o, "name");
  t.title = str(o, "title");
  t.description = str(o, "description");
  t.mime_type = str(o, "mimeType");
  t.icons = icons_from(o);
  return t;
}

PromptSpec prompt_from(const bj::value& v) {
  const auto& o = object_or_throw(v, "prompts/list: a prompt");
  PromptSpec p;
  p.name = required_str(o, "name", "prompts/list: a prompt");
  p.title = str(o, "title");
  p.description = str(o, "description");
  if (auto a = o.find("arguments"); a != o.end() && a->value().is_array())
    for (const auto& x : a->value().get_array()) {
      if (!x.is_object()) continue;
      const auto& xo = x.get_object();
      p.arguments.push_back({.name = str(xo, "name"),
                             .description = str(xo, "description"),
                             .required = opt_bool(xo, "required").value_or(false)});
    }
  p.icons = icons_from(o);
  return p;
}

CallToolResult call_result_from(bj::object o, const std::string& what) {
  CallToolResult r;
  auto c = o.find("content");
  if (c != o.end()) {
    if (!c->value().is_array()) malformed(what, "\"content\" is not an array");
    r.content = std::move(c->value().as_array());
  } else if (!o.contains("structuredContent")) {
    malformed(what, "the result has no content");
  }
  if (auto s = o.find("structuredContent"); s != o.end())
    r.structured_content = std::move(s->value());
  r.is_error = opt_bool(o, "isError").value_or(false);
  r.meta = meta_of(o);
  return r;
}

ReadResourceResult read_result_from(const bj::object& o, const std::string& what) {
  auto c = o.find("contents");
  if (c == o.end() || !c->value().is_array())
    malformed(what, "\"contents\" is missing or not an array");
  ReadResourceResult r;
  for (const auto& x : c->value().get_array()) {
    const auto& xo = object_or_throw(x, what + ": an item of contents");
    ResourceContents rc;
    rc.uri = str(xo, "uri");
    rc.mime_type = str(xo, "mimeType");
    if (auto t = xo.find("text"); t != xo.end() && t->value().is_string())
      rc.text = std::string(t->value().get_string());
    if (auto b = xo.find("blob"); b != xo.end() && b->value().is_string())
      rc.blob = std::string(b->value().get_string());
    rc.meta = meta_of(xo);
    r.contents.push_back(std::move(rc));
  }
  return r;
}

GetPromptResult prompt_result_from(const bj::object& o, const std::string& what) {
  auto m = o.find("messages");
  if (m == o.end() || !m->value().is_array())
    malformed(what, "\"messages\" is missing or not an array");
  GetPromptResult r;
  r.description = str(o, "description");
  for (const auto& x : m->value().get_array()) {
    const auto& xo = object_or_throw(x, what + ": a message");
    PromptMessage pm;
    pm.role = str(xo, "role");
    if (auto c = xo.find("content"); c != xo.end()) pm.content = c->value();
    r.messages.push_back(std::move(pm));
  }
  return r;
}

Completion completion_from(const bj::object& o, const std::string& what) {
  auto c = o.find("completion");
  if (c == o.end() || !c->value().is_object())
    malformed(what, "\"completion\" is missing or not an object");
  const auto& co = c->value().get_object();
  Completion r;
  auto v = co.find("values");
  if (v == co.end() || !v->value().is_array()) malformed(what, "\"values\" is not an array");
  for (const auto& x : v->value().get_array())
    if (x.is_string()) r.values.emplace_back(x.get_string());
  if (auto t = co.find("total"); t != co.end() && t->value().is_int64())
    r.total = t->value().get_int64();
  r.has_more = opt_bool(co, "hasMore").value_or(false);
  return r;
}

TaskInfo task_from(const bj::object& o, const std::string& what) {
  TaskInfo t;
  t.task_id = required_str(o, "taskId", what);
  t.status = required_str(o, "status", what);
  t.status_message = str(o, "statusMessage");
  t.created_at = str(o, "createdAt");
  t.last_updated_at = str(o, "lastUpdatedAt");
  auto int_of = [&](std::initializer_list<std::string_view> keys) -> std::optional<std::int64_t> {
    for (auto k : keys)
      if (auto it = o.find(k); it != o.end() && it->value().is_number()) {
        std::error_code ec;
        auto d = it->value().to_number<double>(ec);
        if (!ec) return static_cast<std::int64_t>(d);
      }
    return std::nullopt;
  };
  t.ttl_ms = int_of({"ttlMs", "ttl"});
  t.poll_interval_ms = int_of({"pollIntervalMs", "pollInterval"});
  if (auto r = o.find("result"); r != o.end()) t.result = r->value();
  if (auto e = o.find("error"); e != o.end()) t.error = e->value();
  if (auto i = o.find("inputRequests"); i != o.end() && i->value().is_object())
    t.input_requests = i->value().get_object();
  return t;
}

std::exception_ptr error_from(const bj::value& error, const std::string& what) {
  if (!error.is_object())
    return fresh_exception<ClientError>(Kind::kMalformedAnswer,
                                        what + ": malformed answer: the error is not an object");
  const auto& e = error.get_object();
  auto code = e.find("code");
  auto msg = e.find("message");
  if (code == e.end() || !code->value().is_int64() || msg == e.end() || !msg->value().is_string())
    return fresh_exception<ClientError>(
        Kind::kMalformedAnswer,
        what + ": malformed answer: an error without an integer code and a message: " +
            jsonio::to_string(error).substr(0, 200));
  bj::value data = nullptr;
  if (auto d = e.find("data"); d != e.end()) data = d->value();
  return fresh_exception<Error>(static_cast<int>(code->value().get_int64()),
                                std::string(msg->value().get_string()), std::move(data));
}

}  // namespace detail

json ElicitationResult::to_json() const {
  bj::object o{{"action", action}};
  if (action == "accept") o["content"] = content;
  return o;
}

json SamplingResult::to_json() const {
  bj::object o{{"role", role}, {"content", content}, {"model", model}};
  if (!stop_reason.empty()) o["stopReason"] = stop_reason;
  return o;
}

bool TaskInfo::terminal() const {
  return status == "completed" || status == "failed" || status == "cancelled";
}

}  // namespace mcp
