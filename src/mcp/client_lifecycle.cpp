// The client's lifecycle: agreeing on a protocol version (server/discover for 2026-07-28, the
// initialize handshake for 2025-11-25), the capabilities it declares, and the envelope each era
// puts on a request.
#include "client_impl.hpp"

namespace mcp {

namespace bj = boost::json;
using refcache_sync::Lock;
using Kind = ClientError::Kind;

bj::object Client::Impl::capabilities(Era era) const {
  const detail::ClientHandlers h = handlers_copy();
  bj::object caps;
  if (h.roots) caps["roots"] = bj::object{{"listChanged", true}};
  if (h.sampling) caps["sampling"] = bj::object{};
  if (h.elicitation) caps["elicitation"] = bj::object{{"form", bj::object{}}};
  if (era == Era::kModern && opt.tasks)
    caps["extensions"] = bj::object{{detail::kClientTasksExtension, bj::object{}}};
  return caps;
}

void Client::Impl::add_envelope(bj::object& params, const detail::CallControl& c,
                                bool is_modern) const {
  bj::object meta = c.meta;
  if (is_modern) {
    std::optional<LogLevel> level;
    std::string version;
    {
      Lock lk(mu);
      level = log_level;
      version = wire_version;
    }
    meta[detail::kClientMetaVersion] = version.empty() ? std::string(kModernVersion) : version;
    bj::object caps = capabilities(Era::kModern);
    if (c.input_capabilities) {
      for (const char* input : {"elicitation", "sampling", "roots"}) {
        caps.erase(input);
        if (const bj::value* v = c.input_capabilities->if_contains(input)) caps[input] = *v;
      }
    }
    meta[detail::kClientMetaCaps] = std::move(caps);
    meta[detail::kClientMetaInfo] = opt.info.to_json();
    if (level) meta[detail::kClientMetaLogLevel] = to_string(*level);
  }
  if (meta.empty())
    params.erase("_meta");
  else
    params["_meta"] = std::move(meta);
}

namespace {

// Whether `e` is an UnsupportedProtocolVersion error (-32022) whose data.supported lists
// `version`.
bool unsupported_version_lists(const Error& e, std::string_view version) {
  if (e.code() != error_code::kUnsupportedProtocolVersion || !e.data().is_object()) return false;
  const auto& d = e.data().get_object();
  auto s = d.find("supported");
  if (s == d.end() || !s->value().is_array()) return false;
  for (const auto& v : s->value().get_array())
    if (v.is_string() && v.get_string() == version) return true;
  return false;
}

}  // namespace

bool Client::Impl::probe_modern() {
  detail::CallControl c;
  c.timeout = opt.probe_timeout;
  if (c.timeout.count() > 0) c.deadline = detail::ClientClock::now() + c.timeout;
  c.era = Era::kModern;
  c.version = std::string(kModernVersion);
  bj::object params;
  add_envelope(params, c, true);
  bj::object r;
  const bool stdio = transport->kind() == TransportKind::kStdio;
  try {
    try {
      r = round_trip("server/discover", params, c);
    } catch (const ClientError&) {
      throw;
    } catch (const Error& e) {
      // -32022 that lists the very version asked for (a server that rejected this request, not
      // the version: an intermediary, a deployment under way) is worth one more try.
      if (!unsupported_version_lists(e, kModernVersion)) throw;
      detail::client_log().info(
          "mcp client: server/discover was refused as an unsupported version, but the server "
          "lists {}; asking once more",
          kModernVersion);
      r = round_trip("server/discover", std::move(params), c);
    }
  } catch (const ClientError& e) {
    if (e.kind() == Kind::kTimeout) {
      // A silent stdio server is a legacy one (it may ignore requests before initialize); on
      // HTTP a server answers, and silence is an outage.
      if (stdio && opt.versions == VersionNegotiation::kAuto) {
        detail::client_log().info(
            "mcp client: no answer to server/discover within {}; trying initialize",
            detail::duration_text(opt.probe_timeout));
        return false;
      }
      throw;
    }
    if (e.kind() == Kind::kTransportClosed && opt.versions == VersionNegotiation::kAuto &&
        transport->restartable()) {
      // Some legacy servers exit on any request before initialize: start it again.
      detail::client_log().info(
          "mcp client: the server closed on server/discover ({}); starting it again for "
          "initialize",
          e.what());
      transport->close();
      {
        Lock lk(mu);
        link_open = true;
        closed_reason.clear();
      }
      try {
        transport->start(callbacks());
      } catch (...) {
        Lock lk(mu);
        link_open = false;
        throw;
      }
      return false;
    }
    throw;
  } catch (const Error& e) {
    // The server's error: -32022 lists what it supports; anything else is a legacy server.
    if (e.code() == error_code::kUnsupportedProtocolVersion && e.data().is_object()) {
      const auto& d = e.data().get_object();
      if (auto s = d.find("supported"); s != d.end() && s->value().is_array())
        for (const auto& v : s->value().get_array())
          if (v.is_string() && is_modern_version(v.get_string()) &&
              v.get_string() != kModernVersion)
            detail::client_log().info(
                "mcp client: the server offers {}, which this client does "
                "not speak",
                std::string(v.get_string()));
    }
    if (opt.versions == VersionNegotiation::kModern)
      throw ClientError(Kind::kUnsupported, std::string("the server does not speak ") +
                                                kModernVersion + ": server/discover was answered " +
                                                std::to_string(e.code()) + " " + e.what());
    return false;
  }
  std::vector<std::string> versions;
  if (auto s = r.find("supportedVersions"); s != r.end() && s->value().is_array())
    for (const auto& v : s->value().get_array())
      if (v.is_string()) versions.emplace_back(v.get_string());
  if (std::find(versions.begin(), versions.end(), kModernVersion) == versions.end()) {
    if (opt.versions == VersionNegotiation::kModern)
      throw ClientError(Kind::kUnsupported, std::string("the server does not offer ") +
                                                kModernVersion + " in server/discover");
    return false;
  }
  ServerInfo s;
  s.era = Era::kModern;
  s.protocol_version = kModernVersion;
  s.supported_versions = std::move(versions);
  if (auto caps = r.find("capabilities"); caps != r.end() && caps->value().is_object())
    s.capabilities = caps->value().get_object();
  if (auto in = r.find("instructions"); in != r.end() && in->value().is_string())
    s.instructions = in->value().get_string();
  if (auto meta = r.find("_meta"); meta != r.end() && meta->value().is_object()) {
    const auto& m = meta->value().get_object();
    if (auto si = m.find(detail::kClientMetaServerInfo); si != m.end())
      s.implementation = detail::implementation_from(si->value());
  }
  if (auto si = r.find("serverInfo"); si != r.end() && s.implementation.name == "mcp-server")
    s.implementation = detail::implementation_from(si->value());
  server = std::move(s);
  Lock lk(mu);
  wire_era = Era::kModern;
  wire_version = kModernVersion;
  return true;
}

void Client::Impl::initialize_legacy() {
  detail::CallControl c = control({});
  c.era = Era::kLegacy;
  c.version = std::string();
  bj::object params{{"protocolVersion", kLatestLegacyVersion},
                    {"capabilities", capabilities(Era::kLegacy)},
                    {"clientInfo", opt.info.to_json()}};
  bj::object r = round_trip("initialize", std::move(params), c);
  ServerInfo s;
  s.era = Era::kLegacy;
  auto pv = r.find("protocolVersion");
  if (pv == r.end() || !pv->value().is_string())
    detail::malformed("initialize", "the result has no protocolVersion");
  s.protocol_version = pv->value().get_string();
  if (!is_legacy_version(s.protocol_version))
    throw ClientError(Kind::kUnsupported, "the server answered initialize with protocol version " +
                                              s.protocol_version +
                                              ", which this client does not speak");
  if (auto si = r.find("serverInfo"); si != r.end())
    s.implementation = detail::implementation_from(si->value());
  if (auto caps = r.find("capabilities"); caps != r.end() && caps->value().is_object())
    s.capabilities = caps->value().get_object();
  if (auto in = r.find("instructions"); in != r.end() && in->value().is_string())
    s.instructions = in->value().get_string();
  server = std::move(s);
  {
    Lock lk(mu);
    wire_era = Era::kLegacy;
    wire_version = server.protocol_version;
  }
  send_notification("notifications/initialized", {});
  std::optional<LogLevel> level;
  {
    Lock lk(mu);
    level = log_level;
  }
  if (level && server.capabilities.contains("logging")) {
    detail::CallControl lc = control({});
    round_trip("logging/setLevel", bj::object{{"level", to_string(*level)}}, lc);
  }
}

void Client::Impl::negotiate() {
  if (opt.versions != VersionNegotiation::kLegacy && probe_modern()) return;
  if (opt.versions == VersionNegotiation::kModern)
    throw ClientError(Kind::kUnsupported,
                      std::string("the server does not speak ") + kModernVersion);
  initialize_legacy();
}

}  // namespace mcp
