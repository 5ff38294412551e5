#include "catalog_forwarding.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <map>
#include <memory>
#include <string_view>

#include "aggregation.hpp"

namespace gateway {

namespace {

// Runs `body`; a failure on the client's side of an upstream (down, timed out) becomes an
// internal error naming the upstream; the upstream's own JSON-RPC errors pass as they are.
template <class Body>
auto forwarded(const Upstream& up, Body body) -> decltype(body()) {
  try {
    return body();
  } catch (const mcp::ClientError& e) {
    std::string message = "upstream '" + up.name();
    message += "': ";
    message += to_string(e.kind());
    message += ": ";
    message += e.what();
    throw mcp::Error(mcp::error_code::kInternalError, message);
  }
}

// True when every expression of `tmpl` is one the SDK's matcher takes (RFC 6570 levels 1 and
// 2: {var}, {+var}, {#var}, one variable each, no modifiers).
bool matchable(std::string_view tmpl) {
  std::size_t i = 0;
  while ((i = tmpl.find('{', i)) != std::string_view::npos) {
    const std::size_t end = tmpl.find('}', i);
    if (end == std::string_view::npos) return false;
    std::string_view expr = tmpl.substr(i + 1, end - i - 1);
    if (!expr.empty() && (expr[0] == '+' || expr[0] == '#')) expr.remove_prefix(1);
    if (expr.empty()) return false;
    for (char c : expr)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '%')
        return false;
    i = end + 1;
  }
  return true;
}

}  // namespace

CatalogCounts register_catalog(mcp::Server& server,
                               const std::vector<std::unique_ptr<Upstream>>& upstreams,
                               const std::set<std::string>& reserved_prompts) {
  CatalogCounts counts;
  std::set<std::string> uris;
  // completion/complete goes to the upstream of the prompt or resource template it names; a
  // prompt is named to it by its own name. Shared with the handler, which outlives this call.
  struct CompletionRoute {
    Upstream* upstream = nullptr;
    std::string name{};
  };
  auto prompt_routes = std::make_shared<std::map<std::string, CompletionRoute>>();
  auto template_routes = std::make_shared<std::map<std::string, Upstream*>>();
  for (const auto& u : upstreams) {
    Upstream& up = *u;
    for (const auto& r : up.resources()) {
      if (r.uri.rfind("refcache://", 0) == 0) continue;
      if (!uris.insert(r.uri).second) {
        spdlog::warn(
            "name collision: resource '{}' of '{}' is offered by an earlier server: "
            "not offered",
            r.uri, up.name());
        continue;
      }
      server.resource(r, [&up](const std::string& uri, mcp::RequestContext& ctx) {
        return forwarded(up, [&] {
          mcp::CallOptions co;
          co.cancellation = &ctx.token();
          return up.read_resource(uri, co);
        });
      });
      ++counts.resources;
    }
    for (const auto& t : up.resource_templates()) {
      if (t.uri_template.rfind("refcache://", 0) == 0) continue;
      if (!matchable(t.uri_template)) {
        spdlog::warn(
            "upstream '{}': resource template '{}' not offered: only {{var}}, {{+var}} "
            "and {{#var}} expressions are matched",
            up.name(), t.uri_template);
        continue;
      }
      try {
        server.resource_template(
            t, [&up](const std::string& uri, const std::map<std::string, std::string>&,
                     mcp::RequestContext& ctx) {
              return forwarded(up, [&] {
                mcp::CallOptions co;
                co.cancellation = &ctx.token();
                return up.read_resource(uri, co);
              });
            });
        template_routes->emplace(t.uri_template, &up);
        ++counts.resource_templates;
      } catch (const std::exception& e) {
        spdlog::warn("upstream '{}': resource template '{}' not offered: {}", up.name(),
                     t.uri_template, e.what());
      }
    }
  }

  std::vector<UpstreamNames> lists;
  for (const auto& u : upstreams) {
    UpstreamNames l{.server = u->name(), .prefix = u->config().prefix};
    for (const auto& p : u->prompts()) l.names.push_back(p.name);
    lists.push_back(std::move(l));
  }
  NameAggregation agg = aggregate(lists, reserved_prompts, "prompt");
  for (const auto& r : agg.reports) spdlog::warn("name collision: {}", r);
  for (const auto& routed : agg.items) {
    Upstream& up = *upstreams[routed.upstream];
    mcp::PromptSpec spec = up.prompts()[routed.item];
    const std::string original = spec.name;
    spec.name = routed.exposed_name;
    server.prompt(std::move(spec), [&up, original](const std::map<std::string, std::string>& args,
                                                   mcp::RequestContext& ctx) {
      return forwarded(up, [&] {
        mcp::CallOptions co;
        co.cancellation = &ctx.token();
        return up.get_prompt(original, args, co);
      });
    });
    prompt_routes->emplace(routed.exposed_name, CompletionRoute{&up, original});
    ++counts.prompts;
  }

  server.completion([prompt_routes, template_routes](
                        const boost::json::object& ref, const std::string& argument,
                        const std::string& value, const std::map<std::string, std::string>& context,
                        mcp::RequestContext& ctx) -> mcp::Completion {
    const auto field = [&](const char* k) {
      const auto* v = ref.if_contains(k);
      return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    Upstream* up = nullptr;
    boost::json::object upstream_ref = ref;
    if (field("type") == "ref/prompt") {
      if (auto it = prompt_routes->find(field("name")); it != prompt_routes->end()) {
        up = it->second.upstream;
        upstream_ref["name"] = it->second.name;
      }
    } else if (field("type") == "ref/resource") {
      if (auto it = template_routes->find(field("uri")); it != template_routes->end())
        up = it->second;
    }
    // Nothing of an upstream's (the gateway's own refcache:// template, an unknown name):
    // nothing to offer.
    if (up == nullptr) return {};
    return forwarded(*up, [&] {
      mcp::CallOptions co;
      co.cancellation = &ctx.token();
      return up->complete(upstream_ref, argument, value, context, co);
    });
  });
  return counts;
}

}  // namespace gateway
