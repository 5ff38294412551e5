// What the client asks of a server: the lists (every page, within a bound), tools/call (raw and
// typed; a task the server answers with is followed to its end), resources and their
// subscriptions, prompts and completion.
#include <optional>
#include <set>
#include <string_view>

#include "client_impl.hpp"
#include "jsonio/json_text.hpp"

namespace mcp {

namespace bj = boost::json;
using refcache_sync::Lock;
using Kind = ClientError::Kind;

namespace {

// Calls `method` page by page and hands each item of `key` to `add`.
template <class Add>
void walk_pages(Client::Impl& impl, const std::string& method, const char* key,
                const CallOptions& options, Add add) {
  const detail::CallControl c = impl.control(options);
  std::set<std::string> seen;  // cursors: a server that hands one out twice would loop
  std::optional<std::string> cursor;
  for (std::size_t page = 0;; ++page) {
    if (page >= impl.opt.max_list_pages)
      detail::malformed(method, "more than " + std::to_string(impl.opt.max_list_pages) +
                                    " pages (ClientOptions::max_list_pages)");
    bj::object params;
    if (cursor) params["cursor"] = *cursor;
    bj::object r = impl.call(method, std::move(params), c);
    auto items = r.find(key);
    if (items == r.end() || !items->value().is_array())
      detail::malformed(method, std::string("\"") + key + "\" is missing or not an array");
    for (const auto& item : items->value().get_array()) add(item);
    auto next = r.find("nextCursor");
    if (next == r.end() || next->value().is_null()) return;
    if (!next->value().is_string()) detail::malformed(method, "\"nextCursor\" is not a string");
    std::string n(next->value().get_string());
    if (n.empty()) return;
    if (!seen.insert(n).second)
      detail::malformed(method, "the server handed out the same cursor twice");
    cursor = std::move(n);
  }
}

// An x-mcp-header name is an HTTP field-name token (RFC 9110 tchar: visible ASCII except the
// delimiters); anything else could not be sent as Mcp-Param-{name}.
bool header_token(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool tchar = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!tchar) return false;
  }
  return true;
}

// The x-mcp-header annotations of a tool's top-level arguments (2026-07-28 SEP-2243), as
// (property, header suffix). A definition that breaks the annotation's constraints (a name that
// is not a non-empty token, two names equal but for case, an annotated property that is not a
// string, integer or boolean) yields nullopt and `why`: the specification has clients exclude
// such a tool, since no call of it could carry its headers correctly.
std::optional<std::vector<std::pair<std::string, std::string>>> header_params_of(const ToolSpec& t,
                                                                                 std::string& why) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!t.input_schema.is_object()) return out;
  const auto& s = t.input_schema.get_object();
  auto props = s.find("properties");
  if (props == s.end() || !props->value().is_object()) return out;
  std::set<std::string> seen;  // lower-cased: header names compare without case
  for (const auto& [name, schema] : props->value().get_object()) {
    if (!schema.is_object()) continue;
    const auto& ps = schema.get_object();
    auto h = ps.find("x-mcp-header");
    if (h == ps.end()) continue;
    const std::string prop(name);
    if (!h->value().is_string() || !header_token(h->value().get_string())) {
      why = "the x-mcp-header of \"" + prop + "\" is not a non-empty HTTP token";
      return std::nullopt;
    }
    std::string header(h->value().get_string());
    std::string folded = header;
    for (char& c : folded)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!seen.insert(folded).second) {
      why = "x-mcp-header \"" + header + "\" names two properties";
      return std::nullopt;
    }
    auto type = ps.find("type");
    const bool primitive =
        type != ps.end() && type->value().is_string() &&
        (type->value().get_string() == "string" || type->value().get_string() == "integer" ||
         type->value().get_string() == "boolean");
    if (!primitive) {
      why = "x-mcp-header \"" + header + "\" is on \"";
      why += prop;
      why += "\", which is not a string, integer or boolean";
      return std::nullopt;
    }
    out.emplace_back(prop, std::move(header));
  }
  return out;
}

}  // namespace

std::vector<ToolSpec> Client::list_tools(const CallOptions& options) {
  std::vector<ToolSpec> tools;
  walk_pages(*impl_, "tools/list", "tools", options,
             [&](const bj::value& v) { tools.push_back(detail::tool_from(v)); });
  const bool modern = impl_->modern();
  std::vector<ToolSpec> kept;
  kept.reserve(tools.size());
  Lock lk(impl_->mu);
  for (auto& t : tools) {
    std::string why;
    auto h = header_params_of(t, why);
    if (!h && modern) {
      // 2026-07-28: a tool whose annotations are invalid is left out, the others kept.
      detail::client_log().warn("mcp client: tools/list: leaving out tool \"{}\": {}", t.name, why);
      impl_->header_params.erase(t.name);
      continue;
    }
    if (h && !h->empty())
      impl_->header_params[t.name] = std::move(*h);
    else
      impl_->header_params.erase(t.name);
    kept.push_back(std::move(t));
  }
  return kept;
}

CallToolResult Client::call_tool(const std::string& name, const json& arguments,
                                 const CallOptions& options) {
  detail::CallControl c = impl_->control(options);
  c.name = name;
  if (!arguments.is_null() && !arguments.is_object())
    throw ClientError(Kind::kUnsupported, "tools/call " + name + ": arguments must be an object");
  bj::object params{{"name", name}};
  if (arguments.is_object()) params["arguments"] = arguments;
  if (impl_->modern() && arguments.is_object()) {
    Lock lk(impl_->mu);
    if (auto it = impl_->header_params.find(name); it != impl_->header_params.end())
      for (const auto& [prop, header] : it->second)
        if (auto a = arguments.get_object().find(prop); a != arguments.get_object().end() &&
                                                        !a->value().is_structured() &&
                                                        !a->value().is_null())
          c.param_headers.emplace_back(header, a->value().is_string()
                                                   ? std::string(a->value().get_string())
                                                   : jsonio::to_string(a->value()));
  }
  bj::object r = impl_->call("tools/call", std::move(params), c);
  const std::string what = "tools/call " + name;
  if (auto rt = r.find("resultType");
      rt != r.end() && rt->value().is_string() && rt->value().get_string() == "task")
    return impl_->follow_task(detail::task_from(r, what), c);
  return detail::call_result_from(std::move(r), what);
}

json Client::structured_result(const std::string& tool, const CallToolResult& r) {
  auto first_text = [&]() -> std::string {
    for (const auto& b : r.content)
      if (b.is_object())
        if (auto t = b.get_object().find("text");
            t != b.get_object().end() && t->value().is_string())
          return std::string(t->value().get_string());
    return {};
  };
  if (r.is_error)
    throw ClientError(Kind::kToolError, "tools/call " + tool + " failed: " + first_text());
  if (r.structured_content) return *r.structured_content;
  std::error_code ec;
  json v = jsonio::parse(first_text(), ec);
  if (ec)
    throw ClientError(Kind::kMalformedAnswer,
                      "tools/call " + tool +
                          ": the result has no structuredContent and its text "
                          "is not JSON");
  return v;
}

std::vector<Resource> Client::list_resources(const CallOptions& options) {
  std::vector<Resource> out;
  walk_pages(*impl_, "resources/list", "resources", options,
             [&](const bj::value& v) { out.push_back(detail::resource_from(v)); });
  return out;
}

std::vector<ResourceTemplate> Client::list_resource_templates(const CallOptions& options) {
  std::vector<ResourceTemplate> out;
  walk_pages(*impl_, "resources/templates/list", "resourceTemplates", options,
             [&](const bj::value& v) { out.push_back(detail::resource_template_from(v)); });
  return out;
}

ReadResourceResult Client::read_resource(const std::string& uri, const CallOptions& options) {
  detail::CallControl c = impl_->control(options);
  c.name = uri;
  bj::object params{{"uri", uri}};
  return detail::read_result_from(impl_->call("resources/read", std::move(params), c),
                                  "resources/read " + uri);
}

void Client::subscribe(const std::string& uri, const CallOptions& options) {
  detail::CallControl c = impl_->control(options);
  c.name = uri;
  if (!impl_->modern()) {
    impl_->call("resources/subscribe", bj::object{{"uri", uri}}, c);
    return;
  }
  {
    Lock lk(impl_->mu);
    impl_->listen_uris.insert(uri);
  }
  bj::object accepted = impl_->refresh_listen(c);
  bool ok = false;
  if (auto s = accepted.find("resourceSubscriptions"); s != accepted.end() && s->value().is_array())
    for (const auto& u : s->value().get_array())
      if (u.is_string() && u.get_string() == uri) ok = true;
  if (!ok) {
    Lock lk(impl_->mu);
    impl_->listen_uris.erase(uri);
    throw Error(error_code::kInvalidParams, "Resource not found", bj::object{{"uri", uri}});
  }
}

void Client::unsubscribe(const std::string& uri, const CallOptions& options) {
  detail::CallControl c = impl_->control(options);
  c.name = uri;
  if (!impl_->modern()) {
    impl_->call("resources/unsubscribe", bj::object{{"uri", uri}}, c);
    return;
  }
  {
    Lock lk(impl_->mu);
    if (!impl_->listen_uris.erase(uri)) return;
  }
  impl_->refresh_listen(c);
}

std::vector<PromptSpec> Client::list_prompts(const CallOptions& options) {
  std::vector<PromptSpec> out;
  walk_pages(*impl_, "prompts/list", "prompts", options,
             [&](const bj::value& v) { out.push_back(detail::prompt_from(v)); });
  return out;
}

GetPromptResult Client::get_prompt(const std::string& name,
                                   const std::map<std::string, std::string>& arguments,
                                   const CallOptions& options) {
  detail::CallControl c = impl_->control(options);
  c.name = name;
  bj::object params{{"name", name}};
  if (!arguments.empty()) {
    bj::object a;
    for (const auto& [k, v] : arguments) a[k] = v;
    params["arguments"] = std::move(a);
  }
  return detail::prompt_result_from(impl_->call("prompts/get", std::move(params), c),
                                    "prompts/get " + name);
}

Completion Client::complete(const bj::object& ref, const std::string& argument,
                            const std::string& value,
                            const std::map<std::string, std::string>& context,
                            const CallOptions& options) {
  detail::CallControl c = impl_->control(options);
  bj::object params{{"ref", ref}, {"argument", bj::object{{"name", argument}, {"value", value}}}};
  if (!context.empty()) {
    bj::object a;
    for (const auto& [k, v] : context) a[k] = v;
    params["context"] = bj::object{{"arguments", std::move(a)}};
  }
  return detail::completion_from(impl_->call("completion/complete", std::move(params), c),
                                 "completion/complete");
}

bj::object Client::prompt_ref(const std::string& name) {
  return bj::object{{"type", "ref/prompt"}, {"name", name}};
}

bj::object Client::resource_ref(const std::string& uri_template) {
  return bj::object{{"type", "ref/resource"}, {"uri", uri_template}};
}

}  // namespace mcp
