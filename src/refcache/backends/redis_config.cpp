// RedisOptions resolution (see include/refcache/redis_config.hpp).
#include "refcache/redis_config.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "refcache/errors.hpp"

namespace refcache {

namespace {

int parse_int(std::string_view s, std::string_view what, int lo, int hi) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi)
    throw InvalidArgument("invalid Redis " + std::string(what) + ": '" + std::string(s) + "'");
  return v;
}

std::chrono::milliseconds parse_seconds(std::string_view s, std::string_view what) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !(v > 0) || v > 86400)
    throw InvalidArgument("invalid Redis " + std::string(what) + ": '" + std::string(s) + "'");
  return std::chrono::milliseconds(std::llround(v * 1000));
}

bool truthy(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s == "true" || s == "1" || s == "yes";
}

}  // namespace

std::string RedisOptions::redacted_address() const {
  std::string out = tls ? "rediss://" : "redis://";
  if (!sentinels.empty()) out = tls ? "rediss+sentinel://" : "redis+sentinel://";
  if (!cluster_nodes.empty()) out = tls ? "rediss+cluster://" : "redis+cluster://";
  if (!user.empty() || !password.empty()) {
    out += user;
    if (!password.empty()) out += ":***";
    out += "@";
  }
  auto hosts = [&](const std::vector<HostPort>& list) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (i) out.push_back(',');
      bool v6 = list[i].host.find(':') != std::string::npos;
      out += v6 ? "[" + list[i].host + "]" : list[i].host;
      out += ":" + std::to_string(list[i].port);
    }
  };
  if (!cluster_nodes.empty()) {
    hosts(cluster_nodes);
    return out;
  }
  if (!sentinels.empty()) {
    for (std::size_t i = 0; i < sentinels.size(); ++i) {
      if (i) out.push_back(',');
      bool v6 = sentinels[i].host.find(':') != std::string::npos;
      out += v6 ? "[" + sentinels[i].host + "]" : sentinels[i].host;
      out += ":" + std::to_string(sentinels[i].port);
    }
    return out + "/" + sentinel_primary + "/" + std::to_string(db);
  }
  bool v6 = host.find(':') != std::string::npos;
  if (v6) out.push_back('[');
  out.append(host);
  if (v6) out.push_back(']');
  out.push_back(':');
  out.append(std::to_string(port));
  out.push_back('/');
  out.append(std::to_string(db));
  return out;
}

namespace {

// "host[:port][,host[:port]...]" (IPv6 hosts in brackets); `what` names the list in errors.
std::vector<RedisOptions::HostPort> parse_host_list(std::string_view authority, int default_port,
                                                    const std::string& what) {
  std::vector<RedisOptions::HostPort> out;
  while (!authority.empty()) {
    auto comma = authority.find(',');
    std::string_view one = authority.substr(0, comma);
    authority = comma == std::string_view::npos ? std::string_view() : authority.substr(comma + 1);
    RedisOptions::HostPort hp;
    hp.port = default_port;
    std::string_view host = one, port;
    if (!one.empty() && one.front() == '[') {
      auto close = one.find(']');
      if (close == std::string_view::npos)
        throw InvalidArgument("malformed " + what + " address '" + std::string(one) +
                              "' (no closing ']')");
      host = one.substr(1, close - 1);
      if (close + 1 < one.size() && one[close + 1] == ':') port = one.substr(close + 2);
    } else if (auto colon = one.rfind(':'); colon != std::string_view::npos) {
      host = one.substr(0, colon);
      port = one.substr(colon + 1);
    }
    if (host.empty())
      throw InvalidArgument("malformed " + what + " address '" + std::string(one) +
                            "' (empty host)");
    hp.host = std::string(host);
    if (!port.empty()) hp.port = parse_int(port, what + " port", 1, 65535);
    out.push_back(std::move(hp));
  }
  return out;
}

// Splits "scheme://[userinfo@]hosts[/path][?query]" after the scheme; credentials and
// parameters go through the ordinary parser (on a stand-in host) into `base`.
struct MultiHostUrl {
  std::string_view authority, path;
};
MultiHostUrl split_multi_host_url(std::string_view rest, bool tls, RedisOptions& base) {
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q);
    rest = rest.substr(0, q);
  }
  MultiHostUrl out;
  auto slash = rest.find('/');
  out.authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) out.path = rest.substr(slash + 1);
  std::string stand_in = std::string(tls ? "rediss://" : "redis://");
  auto at = out.authority.rfind('@');
  if (at != std::string_view::npos) {
    stand_in.append(out.authority.substr(0, at + 1));
    out.authority = out.authority.substr(at + 1);
  }
  stand_in += "stand-in";
  stand_in.append(query);
  base = parse_redis_url(stand_in, std::move(base));
  return out;
}

// redis+cluster://[user[:password]@]host[:port][,host[:port]...][/][?params]
RedisOptions parse_cluster_url(std::string_view url, RedisOptions base) {
  bool tls = url.rfind("rediss+cluster://", 0) == 0;
  auto parts = split_multi_host_url(url.substr(tls ? 17 : 16), tls, base);
  if (!parts.path.empty() && parts.path != "0")
    throw InvalidArgument("Redis Cluster URL names a database ('/" + std::string(parts.path) +
                          "'): a cluster has database 0 only");
  if (base.db != 0)
    throw InvalidArgument("Redis Cluster URL sets db=" + std::to_string(base.db) +
                          ": a cluster has database 0 only");
  base.cluster_nodes = parse_host_list(parts.authority, 6379, "Redis Cluster seed");
  if (base.cluster_nodes.empty())
    throw InvalidArgument(
        "Redis Cluster URL names no seed node (expected redis+cluster://host:port[,host:port])");
  base.sentinels.clear();
  base.host = base.cluster_nodes.front().host;  // informational; the slot map decides
  base.port = base.cluster_nodes.front().port;
  return base;
}

// redis+sentinel://[user[:password]@]host[:port][,host[:port]...]/<primary>[/<db>][?params]
RedisOptions parse_sentinel_url(std::string_view url, RedisOptions base) {
  bool tls = url.rfind("rediss+sentinel://", 0) == 0;
  std::string_view rest = url.substr(tls ? 18 : 17);
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q);
    rest = rest.substr(0, q);
  }
  auto slash = rest.find('/');
  if (slash == std::string_view::npos)
    throw InvalidArgument(
        "malformed Sentinel URL (expected redis+sentinel://host:port[,host:port]/primary[/db])");
  std::string_view authority = rest.substr(0, slash), path = rest.substr(slash + 1);
  // Parameters and credentials through the ordinary parser, on a stand-in host.
  std::string stand_in = std::string(tls ? "rediss://" : "redis://");
  auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    stand_in.append(authority.substr(0, at + 1));
    authority = authority.substr(at + 1);
  }
  stand_in += "sentinel";
  stand_in.append(query);
  base = parse_redis_url(stand_in, std::move(base));
  base.sentinels = parse_host_list(authority, 26379, "Sentinel");
  if (base.sentinels.empty()) throw InvalidArgument("Sentinel URL names no sentinel");
  auto s2 = path.find('/');
  base.sentinel_primary = std::string(path.substr(0, s2));
  if (base.sentinel_primary.empty())
    throw InvalidArgument("Sentinel URL names no primary (redis+sentinel://hosts/<primary>)");
  if (s2 != std::string_view::npos && s2 + 1 < path.size())
    base.db = parse_int(path.substr(s2 + 1), "database number", 0, 1 << 20);
  base.host = base.sentinels.front().host;  // informational; the sentinels decide
  return base;
}

}  // namespace

RedisOptions parse_redis_url(std::string_view url, RedisOptions base) {
  if (url.rfind("redis+sentinel://", 0) == 0 || url.rfind("rediss+sentinel://", 0) == 0)
    return parse_sentinel_url(url, std::move(base));
  if (url.rfind("redis+cluster://", 0) == 0 || url.rfind("rediss+cluster://", 0) == 0)
    return parse_cluster_url(url, std::move(base));
  auto r = boost::urls::parse_uri(url);
  if (!r)
    throw InvalidArgument("malformed Redis URL (expected redis://[user:password@]host:port/db)");
  boost::urls::url_view u = *r;
  std::string scheme = u.scheme();
  if (scheme == "redis") {
    base.tls = false;
  } else if (scheme == "rediss") {
    base.tls = true;
  } else {
    throw InvalidArgument("not a Redis URL (scheme '" + scheme + "', expected redis or rediss)");
  }
  if (u.has_userinfo()) {
    base.user = u.user();
    base.password = u.has_password() ? std::string(u.password()) : std::string();
    // "redis://secret@host" is read as a password (as redis-py does when there is no ':').
    if (!u.has_password() && !base.user.empty()) {
      base.password = base.user;
      base.user.clear();
    }
  }
  std::string host = u.host_address();
  if (!host.empty()) base.host = host;
  if (u.has_port()) base.port = parse_int(u.port(), "port", 1, 65535);
  std::string path = u.path();
  if (!path.empty() && path != "/") {
    std::string_view db = path;
    if (db.front() == '/') db.remove_prefix(1);
    base.db = parse_int(db, "database number", 0, 1 << 20);
  }
  // Query parameters, with redis-py's names: db, socket_timeout and socket_connect_timeout
  // (seconds, may be fractional), max_connections.
  for (auto param : u.params()) {
    if (param.key == "db") {
      base.db = parse_int(param.value, "database number", 0, 1 << 20);
    } else if (param.key == "socket_timeout") {
      base.socket_timeout = parse_seconds(param.value, "socket_timeout");
    } else if (param.key == "socket_connect_timeout") {
      base.connect_timeout = parse_seconds(param.value, "socket_connect_timeout");
    } else if (param.key == "max_connections") {
      base.pool_size =
          static_cast<std::size_t>(parse_int(param.value, "max_connections", 1, 1 << 16));
    } else if (param.key == "ssl_ca_certs") {
      base.tls_ca_file = param.value;
    } else if (param.key == "ssl_certfile") {
      base.tls_cert_file = param.value;
    } else if (param.key == "ssl_keyfile") {
      base.tls_key_file = param.value;
    } else if (param.key == "ssl_server_name") {
      base.tls_server_name = param.value;
    } else if (param.key == "ssl_check_hostname") {
      base.tls_check_hostname = truthy(param.value);
    } else if (param.key == "cluster_groups") {
      base.cluster_groups = parse_int(param.value, "cluster_groups", 1, 16384);
    } else if (param.key == "sentinel_password") {
      base.sentinel_password = param.value;
    } else if (param.key == "call_timeout") {
      base.call_timeout = parse_seconds(param.value, "call_timeout");
    } else if (param.key == "max_retries") {
      base.max_retries = parse_int(param.value, "max_retries", 0, 100);
    } else if (param.key == "retry_backoff_min") {
      base.retry_backoff_min = parse_seconds(param.value, "retry_backoff_min");
    } else if (param.key == "retry_backoff_max") {
      base.retry_backoff_max = parse_seconds(param.value, "retry_backoff_max");
    } else if (param.key == "breaker_threshold") {
      base.breaker_threshold = parse_int(param.value, "breaker_threshold", 0, 1 << 20);
    } else if (param.key == "breaker_open_time") {
      base.breaker_open_time = parse_seconds(param.value, "breaker_open_time");
    } else if (param.key == "compress_min_bytes") {
      base.compress_min_bytes =
          static_cast<std::size_t>(parse_int(param.value, "compress_min_bytes", 0, 1 << 30));
    } else if (param.key == "compression_level") {
      base.compression_level = parse_int(param.value, "compression_level", 1, 19);
    } else if (param.key == "key_prefix") {
      // Keys, scripts and the event stream all live under it: a tenant's or a deployment's
      // own key space in a shared database.
      if (param.value.empty() || param.value.size() > 256 ||
          param.value.find_first_of("{} \t\r\n") != std::string::npos)
        throw InvalidArgument("key_prefix must be 1 to 256 characters without braces or spaces");
      base.key_prefix = param.value;
    } else if (param.key == "expiry_sweep_interval") {
      base.expiry_sweep_interval = param.value == "0"
                                       ? std::chrono::milliseconds(0)
                                       : parse_seconds(param.value, "expiry_sweep_interval");
    } else {
      throw InvalidArgument("unknown Redis URL parameter '" + std::string(param.key) + "'");
    }
  }
  return base;
}

std::optional<std::string> process_env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

RedisOptions resolve_redis_options(const RedisSettings& s, const EnvLookup& env) {
  RedisOptions base = s.base;
  std::optional<std::string> url = s.url;
  if (!url || url->empty()) {
    auto e = env("REDIS_URL");
    if (e && !e->empty()) url = e;
  }
  if (url && !url->empty()) return parse_redis_url(*url, base);

  RedisOptions d;  // defaults for connection fields
  auto pick = [&](const std::optional<std::string>& explicit_v, const char* var,
                  const std::string& def) -> std::string {
    if (explicit_v && !explicit_v->empty()) return *explicit_v;
    auto e = env(var);
    if (e && !e->empty()) return *e;
    return def;
  };
  base.host = pick(s.host, "REDIS_HOST", d.host);
  if (s.port) {
    base.port = *s.port;
  } else if (auto e = env("REDIS_PORT"); e && !e->empty()) {
    base.port = parse_int(*e, "port (REDIS_PORT)", 1, 65535);
  } else {
    base.port = d.port;
  }
  if (s.db) {
    base.db = *s.db;
  } else if (auto e = env("REDIS_DB"); e && !e->empty()) {
    base.db = parse_int(*e, "database number (REDIS_DB)", 0, 1 << 20);
  } else {
    base.db = d.db;
  }
  base.user = s.user ? *s.user : std::string();
  base.password = pick(s.password, "REDIS_PASSWORD", "");
  if (s.tls) {
    base.tls = *s.tls;
  } else if (auto e = env("REDIS_SSL"); e && !e->empty()) {
    base.tls = truthy(*e);
  } else {
    base.tls = false;
  }
  return base;
}

}  // namespace refcache
