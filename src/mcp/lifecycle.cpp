// The lifecycle methods: initialize (legacy handshake), ping, logging/setLevel, and
// server/discover (2026-07-28), with the capabilities both advertise.
#include "server_impl.hpp"
#include "session_state.hpp"

namespace mcp {

namespace bj = boost::json;
using detail::CallPtr;
using detail::member_object;
using detail::member_string;
using detail::string_or_empty;

bj::object Server::Impl::capabilities(Era era) const {
  bj::object caps;
  bj::object t;
  if (opt.list_changed) t["listChanged"] = true;
  caps["tools"] = std::move(t);
  if (!resources.empty()) {
    bj::object r;
    if (opt.resource_subscriptions) r["subscribe"] = true;
    if (opt.list_changed) r["listChanged"] = true;
    caps["resources"] = std::move(r);
  }
  if (!prompts.empty()) {
    bj::object p;
    if (opt.list_changed) p["listChanged"] = true;
    caps["prompts"] = std::move(p);
  }
  if (opt.logging) caps["logging"] = bj::object{};
  if (opt.completions && prompts.has_completion()) caps["completions"] = bj::object{};
  if (tools.any_task_support()) {
    if (era == Era::kModern)
      caps["extensions"] = bj::object{{detail::kTasksExtension, bj::object{}}};
    else
      caps["tasks"] =
          bj::object{{"list", bj::object{}},
                     {"cancel", bj::object{}},
                     {"requests", bj::object{{"tools", bj::object{{"call", bj::object{}}}}}}};
  }
  return caps;
}

bj::value Server::Impl::m_initialize(const CallPtr& c) {
  std::string requested = string_or_empty(member_string(c->params, "protocolVersion"));
  std::string chosen = is_legacy_version(requested) ? requested : std::string(kLatestLegacyVersion);
  {
    auto& st = c->session->state();
    refcache_sync::Lock lk(st.mu);
    st.protocol_version = chosen;
    if (auto* caps = member_object(c->params, "capabilities")) st.client_capabilities = *caps;
    if (auto* ci = member_object(c->params, "clientInfo")) st.client_info = *ci;
  }
  bj::object r{{"protocolVersion", chosen},
               {"capabilities", capabilities(Era::kLegacy)},
               {"serverInfo", opt.info.to_json()}};
  if (!opt.instructions.empty()) r["instructions"] = opt.instructions;
  return r;
}

bj::value Server::Impl::m_ping(const CallPtr&) {
  return bj::object{};
}

bj::value Server::Impl::m_set_level(const CallPtr& c) {
  auto lvl = parse_log_level(string_or_empty(member_string(c->params, "level")));
  if (!lvl) throw Error(error_code::kInvalidParams, "Invalid log level");
  c->session->state().log_level.store(static_cast<int>(*lvl));
  return bj::object{};
}

bj::value Server::Impl::m_discover(const CallPtr&) {
  bj::array versions;
  for (const auto& v : modern_versions()) versions.emplace_back(v);
  for (const auto& v : legacy_versions()) versions.emplace_back(v);
  bj::object r{{"supportedVersions", std::move(versions)},
               {"capabilities", capabilities(Era::kModern)}};
  if (!opt.instructions.empty()) r["instructions"] = opt.instructions;
  return r;
}

}  // namespace mcp
