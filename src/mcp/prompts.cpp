// Prompts and completion: the registry, Server's registration, prompts/list, prompts/get (with
// the required arguments checked) and completion/complete.
#include "server_impl.hpp"

namespace mcp {

namespace bj = boost::json;
using detail::CallPtr;
using detail::PromptEntry;

namespace detail {

void PromptRegistry::add(std::shared_ptr<PromptEntry> e) {
  WriterLock lk(mu_);
  std::erase_if(prompts_, [&](const auto& p) { return p->spec.name == e->spec.name; });
  prompts_.push_back(std::move(e));
}

bool PromptRegistry::remove(const std::string& name) {
  WriterLock lk(mu_);
  return std::erase_if(prompts_, [&](const auto& p) { return p->spec.name == name; }) > 0;
}

std::shared_ptr<PromptEntry> PromptRegistry::find(const std::string& name) const {
  ReaderLock lk(mu_);
  for (const auto& p : prompts_)
    if (p->spec.name == name) return p;
  return nullptr;
}

bool PromptRegistry::empty() const {
  ReaderLock lk(mu_);
  return prompts_.empty();
}

std::vector<std::shared_ptr<PromptEntry>> PromptRegistry::list() const {
  ReaderLock lk(mu_);
  return prompts_;
}

void PromptRegistry::set_completion(CompletionHandler fn) {
  WriterLock lk(mu_);
  completion_ = std::move(fn);
}

CompletionHandler PromptRegistry::completion() const {
  ReaderLock lk(mu_);
  return completion_;
}

bool PromptRegistry::has_completion() const {
  ReaderLock lk(mu_);
  return static_cast<bool>(completion_);
}

}  // namespace detail

void Server::prompt(PromptSpec spec, PromptHandler fn) {
  impl_->prompts.add(std::make_shared<PromptEntry>(PromptEntry{std::move(spec), std::move(fn)}));
}

bool Server::remove_prompt(const std::string& name) {
  return impl_->prompts.remove(name);
}

void Server::completion(CompletionHandler fn) {
  impl_->prompts.set_completion(std::move(fn));
}

bj::value Server::Impl::m_prompts_list(const CallPtr& c) {
  auto all = prompts.list();
  if (all.empty()) throw Error(error_code::kMethodNotFound, "Method not found: prompts/list");
  return detail::page(*c, all, opt.page_size, "prompts",
                      [](const PromptEntry& p) { return p.spec.to_json(); });
}

bj::value Server::Impl::m_prompts_get(const CallPtr& c) {
  auto* name = detail::member_string(c->params, "name");
  if (!name) throw Error(error_code::kInvalidParams, "prompts/get: params.name must be a string");
  auto p = prompts.find(std::string(*name));
  if (!p) throw Error(error_code::kInvalidParams, "Unknown prompt: " + std::string(*name));
  std::map<std::string, std::string> args;
  if (auto* a = detail::member_object(c->params, "arguments"))
    for (const auto& kv : *a) {
      if (!kv.value().is_string())
        throw Error(error_code::kInvalidParams, "prompts/get: argument values must be strings");
      args[std::string(kv.key())] = std::string(kv.value().get_string());
    }
  for (const auto& a : p->spec.arguments)
    if (a.required && !args.count(a.name))
      throw Error(error_code::kInvalidParams, "Missing required argument: " + a.name);
  ToolContext ctx(c);
  return p->fn(args, ctx).to_json();
}

bj::value Server::Impl::m_complete(const CallPtr& c) {
  CompletionHandler h = prompts.completion();
  if (!h) throw Error(error_code::kMethodNotFound, "Method not found: completion/complete");
  auto* ref = detail::member_object(c->params, "ref");
  auto* arg = detail::member_object(c->params, "argument");
  if (!ref || !arg)
    throw Error(error_code::kInvalidParams, "completion/complete: ref and argument are required");
  std::map<std::string, std::string> ctx_args;
  if (auto* cx = detail::member_object(c->params, "context"))
    if (auto* a = detail::member_object(*cx, "arguments"))
      for (const auto& kv : *a)
        if (kv.value().is_string())
          ctx_args[std::string(kv.key())] = std::string(kv.value().get_string());
  ToolContext ctx(c);
  return h(*ref, detail::string_or_empty(detail::member_string(*arg, "name")),
           detail::string_or_empty(detail::member_string(*arg, "value")), ctx_args, ctx)
      .to_json();
}

}  // namespace mcp
