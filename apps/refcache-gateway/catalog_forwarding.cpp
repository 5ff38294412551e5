#include "catalog_forwarding.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <string_view>

#include "aggregation.hpp"
#include "caller_relay.hpp"

namespace gateway {

namespace json = boost::json;

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

// resources/read of `uri` on `up`, for the caller of `ctx`: the upstream's input requests
// relayed to it (caller_relay.hpp).
mcp::ReadResourceResult read_forwarded(Upstream& up, ParkedCalls& parked, const std::string& uri,
                                       mcp::RequestContext& ctx) {
  return relayed_as<mcp::ReadResourceResult>(forwarded(up, [&] {
    return forward_request(up, parked, ctx, [&up, uri](mcp::CallOptions& co) -> RelayedResult {
      return up.read_resource(uri, co);
    });
  }));
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

CatalogForwarding::CatalogForwarding(mcp::Server& server,
                                     const std::vector<std::unique_ptr<Upstream>>& upstreams,
                                     std::set<std::string> reserved_prompts, ParkedCalls& parked)
    : server_(server),
      upstreams_(upstreams),
      reserved_prompts_(std::move(reserved_prompts)),
      parked_(parked) {
  // completion/complete goes to the upstream of the prompt or resource template it names, a
  // prompt under the upstream's own name; anything else (the gateway's own refcache://
  // template, an unknown name) gets no values.
  server_.completion([this](const json::object& ref, const std::string& argument,
                            const std::string& value,
                            const std::map<std::string, std::string>& context,
                            mcp::RequestContext& ctx) -> mcp::Completion {
    const auto field = [&](const char* k) {
      const auto* v = ref.if_contains(k);
      return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
    };
    std::optional<std::size_t> where;
    json::object upstream_ref = ref;
    {
      std::lock_guard lock(mu_);
      if (field("type") == "ref/prompt") {
        if (auto it = prompts_.find(field("name")); it != prompts_.end()) {
          where = it->second.first;
          upstream_ref["name"] = it->second.second.at("name");
        }
      } else if (field("type") == "ref/resource") {
        if (auto it = template_routes_.find(field("uri")); it != template_routes_.end())
          where = it->second;
      }
    }
    if (!where) return {};
    Upstream& up = *upstreams_[*where];
    return forwarded(up, [&] {
      mcp::CallOptions co;
      co.cancellation = &ctx.token();
      return up.complete(upstream_ref, argument, value, context, co);
    });
  });
}

std::optional<std::size_t> CatalogForwarding::owner(const std::string& uri) {
  std::lock_guard lock(mu_);
  if (auto it = resources_.find(uri); it != resources_.end()) return it->second.first;
  return std::nullopt;
}

CatalogCounts CatalogForwarding::sync(bool notify) {
  std::lock_guard lock(mu_);
  CatalogCounts counts;
  // Resources: URI -> (upstream, as listed).
  std::map<std::string, std::pair<std::size_t, json::value>> resources;
  for (std::size_t i = 0; i < upstreams_.size(); ++i) {
    Upstream& up = *upstreams_[i];
    for (const auto& r : up.resources()) {
      if (r.uri.rfind("refcache://", 0) == 0) continue;
      if (resources.contains(r.uri)) {
        if (!resources_.contains(r.uri))
          spdlog::warn(
              "name collision: resource '{}' of '{}' is offered by an earlier server: "
              "not offered",
              r.uri, up.name());
        continue;
      }
      json::value listed = r.to_json();
      resources[r.uri] = {i, listed};
      if (auto it = resources_.find(r.uri);
          it != resources_.end() && it->second.first == i && it->second.second == listed)
        continue;  // unchanged
      server_.resource(r,
                       [&up, &parked = parked_](const std::string& uri, mcp::RequestContext& ctx) {
                         return read_forwarded(up, parked, uri, ctx);
                       });
    }
    for (const auto& t : up.resource_templates()) {
      if (t.uri_template.rfind("refcache://", 0) == 0) continue;
      if (templates_.contains(t.uri_template)) continue;  // templates are never removed
      templates_.insert(t.uri_template);
      if (!matchable(t.uri_template)) {
        spdlog::warn(
            "upstream '{}': resource template '{}' not offered: only {{var}}, {{+var}} "
            "and {{#var}} expressions are matched",
            up.name(), t.uri_template);
        continue;
      }
      try {
        server_.resource_template(
            t, [&up, &parked = parked_](
                   const std::string& uri, const std::map<std::string, std::string>&,
                   mcp::RequestContext& ctx) { return read_forwarded(up, parked, uri, ctx); });
        template_routes_[t.uri_template] = i;
        ++offered_templates_;
      } catch (const std::exception& e) {
        spdlog::warn("upstream '{}': resource template '{}' not offered: {}", up.name(),
                     t.uri_template, e.what());
      }
    }
  }
  bool resources_changed = resources.size() != resources_.size();
  for (const auto& [uri, where] : resources_) {
    auto it = resources.find(uri);
    if (it == resources.end()) {
      server_.remove_resource(uri);
      resources_changed = true;
    } else if (it->second != where) {
      resources_changed = true;
    }
  }
  if (offered_templates_ != templates_before_) resources_changed = true;
  templates_before_ = offered_templates_;
  resources_ = std::move(resources);

  std::vector<UpstreamNames> lists;
  std::vector<std::vector<mcp::PromptSpec>> prompts(upstreams_.size());
  for (std::size_t i = 0; i < upstreams_.size(); ++i) {
    UpstreamNames l{.server = upstreams_[i]->name(), .prefix = upstreams_[i]->config().prefix};
    prompts[i] = upstreams_[i]->prompts();
    for (const auto& p : prompts[i]) l.names.push_back(p.name);
    lists.push_back(std::move(l));
  }
  KeptNames kept;
  for (const auto& [exposed, where] : prompts_)
    kept[{upstreams_[where.first]->name(), std::string(where.second.at("name").as_string())}] =
        exposed;
  NameAggregation agg = aggregate(lists, reserved_prompts_, "prompt", kept);
  for (const auto& r : agg.reports) spdlog::warn("name collision: {}", r);
  std::map<std::string, std::pair<std::size_t, json::value>> now;
  for (const auto& routed : agg.items) {
    Upstream& up = *upstreams_[routed.upstream];
    mcp::PromptSpec spec = prompts[routed.upstream][routed.item];
    json::value listed = spec.to_json();
    now[routed.exposed_name] = {routed.upstream, listed};
    if (auto it = prompts_.find(routed.exposed_name);
        it != prompts_.end() && it->second.first == routed.upstream && it->second.second == listed)
      continue;  // unchanged
    const std::string original = spec.name;
    spec.name = routed.exposed_name;
    server_.prompt(std::move(spec), [&up, &parked = parked_, original](
                                        const std::map<std::string, std::string>& args,
                                        mcp::RequestContext& ctx) {
      return relayed_as<mcp::GetPromptResult>(forwarded(up, [&] {
        return forward_request(up, parked, ctx,
                               [&up, original, args](mcp::CallOptions& co) -> RelayedResult {
                                 return up.get_prompt(original, args, co);
                               });
      }));
    });
  }
  bool prompts_changed = now.size() != prompts_.size();
  for (const auto& [name, where] : prompts_) {
    auto it = now.find(name);
    if (it == now.end()) {
      server_.remove_prompt(name);
      prompts_changed = true;
    } else if (it->second != where) {
      prompts_changed = true;
    }
  }
  prompts_ = std::move(now);
  if (notify && resources_changed) server_.notify_resources_list_changed();
  if (notify && prompts_changed) server_.notify_prompts_list_changed();
  counts.resources = resources_.size();
  counts.resource_templates = offered_templates_;
  counts.prompts = prompts_.size();
  return counts;
}

}  // namespace gateway
