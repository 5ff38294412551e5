// Tools: the registry, Server's tool registration, tools/list and tools/call (argument checks,
// the handler, its outcome counted), and the tasks/* methods, whose tasks are tool calls.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "server_impl.hpp"

namespace mcp {

namespace bj = boost::json;
using detail::CallPtr;
using detail::ToolCounters;
using detail::ToolEntry;

namespace detail {

void ToolRegistry::add(const std::shared_ptr<ToolEntry>& e) {
  WriterLock lk(mu_);
  auto& counters = counters_[e->spec.name];
  if (!counters) counters = std::make_shared<ToolCounters>();
  e->counters = counters;
  auto it = index_.find(e->spec.name);
  if (it != index_.end()) {
    std::replace(tools_.begin(), tools_.end(), it->second, e);
    it->second = e;
  } else {
    tools_.push_back(e);
    index_.emplace(e->spec.name, e);
  }
}

bool ToolRegistry::remove(const std::string& name) {
  WriterLock lk(mu_);
  auto it = index_.find(name);
  if (it == index_.end()) return false;
  std::erase(tools_, it->second);
  index_.erase(it);
  return true;
}

std::shared_ptr<ToolEntry> ToolRegistry::find(const std::string& name) const {
  ReaderLock lk(mu_);
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second;
}

std::vector<std::pair<std::string, std::string>> ToolRegistry::header_params(
    const std::string& name) const {
  ReaderLock lk(mu_);
  auto it = index_.find(name);
  if (it == index_.end()) return {};
  return it->second->header_params;
}

bool ToolRegistry::any_task_support() const {
  ReaderLock lk(mu_);
  return std::any_of(tools_.begin(), tools_.end(),
                     [](const auto& t) { return t->spec.task_support != TaskSupport::kForbidden; });
}

std::vector<std::shared_ptr<ToolEntry>> ToolRegistry::list() const {
  ReaderLock lk(mu_);
  return tools_;
}

std::vector<std::pair<std::string, std::shared_ptr<ToolCounters>>> ToolRegistry::counters() const {
  ReaderLock lk(mu_);
  return {counters_.begin(), counters_.end()};
}

}  // namespace detail

void Server::add_tool(ToolSpec spec, ToolHandler fn, bool validate_with_schema) {
  auto e = std::make_shared<ToolEntry>();
  e->listed = spec.to_json();
  if (auto* sch = spec.input_schema.if_object())
    if (auto* props = sch->if_contains("properties"); props && props->is_object())
      for (const auto& kv : props->get_object())
        if (auto* po = kv.value().if_object())
          if (auto* h = po->if_contains("x-mcp-header"); h && h->is_string())
            e->header_params.emplace_back(std::string(kv.key()), std::string(h->get_string()));
  e->spec = std::move(spec);
  e->fn = std::move(fn);
  e->validate = validate_with_schema;
  impl_->tools.add(e);
}

bool Server::remove_tool(const std::string& name) {
  return impl_->tools.remove(name);
}

std::vector<std::pair<std::string, std::string>> Server::tool_header_params(
    const std::string& name) const {
  return impl_->tools.header_params(name);
}

bj::value Server::Impl::m_tools_list(const CallPtr& c) {
  return detail::page(*c, tools.list(), opt.page_size, "tools",
                      [](const ToolEntry& t) { return t.listed; });
}

bj::value Server::Impl::m_tools_call(const CallPtr& c) {
  auto* name = detail::member_string(c->params, "name");
  if (!name) throw Error(error_code::kInvalidParams, "tools/call: params.name must be a string");
  auto t = tools.find(std::string(*name));
  if (!t) throw Error(error_code::kInvalidParams, "Unknown tool: " + std::string(*name));
  ToolCounters& tc = *t->counters;
  struct Timer {
    ToolCounters& tc;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    ~Timer() {
      tc.duration.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  } timer{tc};
  try {
    bj::value r = call_tool(c, *t);
    if (const bj::object* o = r.if_object()) {
      auto e = o->find("isError");
      (e != o->end() && e->value() == true ? tc.tool_error : tc.ok).inc();
    }
    return r;
  } catch (const InputRequiredSignal&) {
    tc.input_required.inc();
    throw;
  } catch (...) {
    tc.protocol_error.inc();
    throw;
  }
}

bj::value Server::Impl::call_tool(const CallPtr& c, const ToolEntry& te) {
  const ToolEntry* t = &te;
  bj::value args = bj::object{};
  if (auto it = c->params.find("arguments"); it != c->params.end() && !it->value().is_null()) {
    if (!it->value().is_object())
      throw Error(error_code::kInvalidParams, "tools/call: arguments must be an object");
    args = it->value();
  }
  if (t->validate && !t->spec.input_schema.is_null()) {
    std::string err = validate(t->spec.input_schema, args);
    if (!err.empty()) return CallToolResult::error("Invalid arguments: " + err).to_json();
  }
  // A task-capable tool may answer with a task instead (task_engine.cpp).
  if (auto tr = tasks->tool_call(c, t->spec, [t, args](ToolContext& x) { return t->fn(args, x); }))
    return std::move(*tr);
  ToolContext ctx(c);
  CallToolResult r;
  try {
    r = t->fn(args, ctx);
  } catch (const Error&) {
    throw;
  } catch (const InputRequiredSignal&) {
    throw;
  } catch (const std::exception& e) {
    spdlog::error("mcp: tool {} failed: {}", t->spec.name, e.what());
    r = CallToolResult::error(std::string(detail::kInternalErrorText));
  }
  return r.to_json();
}

bj::value Server::Impl::m_tasks_get(const CallPtr& c) {
  return c->era == Era::kModern ? tasks->modern_get(c) : tasks->legacy_get(c);
}
bj::value Server::Impl::m_tasks_update(const CallPtr& c) {
  return tasks->modern_update(c);
}
bj::value Server::Impl::m_tasks_cancel(const CallPtr& c) {
  return c->era == Era::kModern ? tasks->modern_cancel(c) : tasks->legacy_cancel(c);
}
bj::value Server::Impl::m_tasks_result(const CallPtr& c) {
  return tasks->legacy_result(c);
}
bj::value Server::Impl::m_tasks_list(const CallPtr& c) {
  return tasks->legacy_list(c);
}

}  // namespace mcp
