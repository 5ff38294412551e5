// Resources: the registry of resources and templates, Server's registration, resources/list,
// resources/templates/list, resources/read, and the legacy resources/subscribe and
// resources/unsubscribe with the application's subscribe check.
#include "server_impl.hpp"
#include "session_state.hpp"
#include "uri_template.hpp"

namespace mcp {

namespace bj = boost::json;
using detail::CallPtr;
using detail::ResourceEntry;
using detail::TemplateEntry;

namespace detail {

void ResourceRegistry::add(std::shared_ptr<ResourceEntry> e) {
  WriterLock lk(mu_);
  std::erase_if(resources_, [&](const auto& r) { return r->spec.uri == e->spec.uri; });
  resources_.push_back(std::move(e));
}

bool ResourceRegistry::remove(const std::string& uri) {
  WriterLock lk(mu_);
  return std::erase_if(resources_, [&](const auto& r) { return r->spec.uri == uri; }) > 0;
}

void ResourceRegistry::add_template(std::shared_ptr<TemplateEntry> e) {
  WriterLock lk(mu_);
  std::erase_if(templates_,
                [&](const auto& t) { return t->spec.uri_template == e->spec.uri_template; });
  templates_.push_back(std::move(e));
}

bool ResourceRegistry::empty() const {
  ReaderLock lk(mu_);
  return resources_.empty() && templates_.empty();
}

std::vector<std::shared_ptr<ResourceEntry>> ResourceRegistry::resources() const {
  ReaderLock lk(mu_);
  return resources_;
}

std::vector<std::shared_ptr<TemplateEntry>> ResourceRegistry::templates() const {
  ReaderLock lk(mu_);
  return templates_;
}

ResourceRegistry::Match ResourceRegistry::match(const std::string& uri) const {
  Match m;
  ReaderLock lk(mu_);
  for (const auto& r : resources_)
    if (r->spec.uri == uri) {
      m.resource = r;
      return m;
    }
  for (const auto& t : templates_)
    if (auto vars = match_uri_template(t->spec.uri_template, uri)) {
      m.tmpl = t;
      m.vars = std::move(*vars);
      return m;
    }
  return m;
}

void ResourceRegistry::set_subscribe_check(SubscribeCheck check) {
  WriterLock lk(mu_);
  subscribe_check_ = std::move(check);
}

SubscribeCheck ResourceRegistry::subscribe_check() const {
  ReaderLock lk(mu_);
  return subscribe_check_;
}

bool ResourceRegistry::has_subscribe_check() const {
  ReaderLock lk(mu_);
  return static_cast<bool>(subscribe_check_);
}

}  // namespace detail

void Server::resource(Resource spec, ResourceHandler fn) {
  impl_->resources.add(
      std::make_shared<ResourceEntry>(ResourceEntry{std::move(spec), std::move(fn)}));
}

bool Server::remove_resource(const std::string& uri) {
  return impl_->resources.remove(uri);
}

void Server::resource_template(ResourceTemplate spec, TemplateHandler fn) {
  impl_->resources.add_template(
      std::make_shared<TemplateEntry>(TemplateEntry{std::move(spec), std::move(fn)}));
}

void Server::set_subscribe_check(SubscribeCheck check) {
  impl_->resources.set_subscribe_check(std::move(check));
}

bj::value Server::Impl::m_resources_list(const CallPtr& c) {
  if (resources.empty())
    throw Error(error_code::kMethodNotFound, "Method not found: resources/list");
  return detail::page(*c, resources.resources(), opt.page_size, "resources",
                      [](const ResourceEntry& r) { return r.spec.to_json(); });
}

bj::value Server::Impl::m_templates_list(const CallPtr& c) {
  if (resources.empty())
    throw Error(error_code::kMethodNotFound, "Method not found: resources/templates/list");
  return detail::page(*c, resources.templates(), opt.page_size, "resourceTemplates",
                      [](const TemplateEntry& t) { return t.spec.to_json(); });
}

bj::value Server::Impl::m_resources_read(const CallPtr& c) {
  auto* uri = detail::member_string(c->params, "uri");
  if (!uri) throw Error(error_code::kInvalidParams, "resources/read: params.uri must be a string");
  const std::string u(*uri);
  auto m = resources.match(u);
  ToolContext ctx(c);
  ReadResourceResult r;
  if (m.resource)
    r = m.resource->fn(u, ctx);
  else if (m.tmpl)
    r = m.tmpl->fn(u, m.vars, ctx);
  else
    throw ResourceNotFound(u);
  if (r.contents.empty()) throw ResourceNotFound(u);  // the spec forbids empty contents
  return r.to_json();
}

bool Server::Impl::may_subscribe(const CallPtr& c, const std::string& uri) {
  SubscribeCheck check = resources.subscribe_check();
  if (!check) return true;
  ToolContext ctx(c);
  return check(uri, ctx);
}

bj::value Server::Impl::m_subscribe(const CallPtr& c) {
  auto* uri = detail::member_string(c->params, "uri");
  if (!uri)
    throw Error(error_code::kInvalidParams, "resources/subscribe: params.uri must be a string");
  std::string u(*uri);
  if (!may_subscribe(c, u)) throw ResourceNotFound(u);
  auto& st = c->session->state();
  refcache_sync::Lock lk(st.mu);
  st.subscriptions.insert(std::move(u));
  if (c->principal) st.subscriber_principal = c->principal;
  return bj::object{};
}

bj::value Server::Impl::m_unsubscribe(const CallPtr& c) {
  auto* uri = detail::member_string(c->params, "uri");
  if (!uri)
    throw Error(error_code::kInvalidParams, "resources/unsubscribe: params.uri must be a string");
  auto& st = c->session->state();
  refcache_sync::Lock lk(st.mu);
  st.subscriptions.erase(std::string(*uri));
  return bj::object{};
}

}  // namespace mcp
