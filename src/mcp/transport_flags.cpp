#include "mcp/transport_flags.hpp"

#include <stdexcept>
#include <string>

namespace mcp {

void add_transport_flags(CLI::App& app, TransportConfig& c) {
  using Kind = TransportConfig::Kind;
  const char* group = "Transport";
  app.add_option_function<std::string>(
         "--transport",
         [&c](const std::string& v) { c.kind = v == "http" ? Kind::kHttp : Kind::kStdio; },
         "stdio (newline-delimited JSON on stdin/stdout) or http (Streamable HTTP, and legacy "
         "SSE)")
      ->check(CLI::IsMember({"stdio", "http"}))
      ->type_name("stdio|http")
      ->default_str(c.kind == Kind::kStdio ? "stdio" : "http")
      ->envname("MCP_TRANSPORT")
      ->group(group);
  auto* stdio = app.add_flag_callback(
                       "--stdio", [&c] { c.kind = Kind::kStdio; }, "Same as --transport stdio")
                    ->group(group);
  app.add_flag_callback(
         "--http", [&c] { c.kind = Kind::kHttp; }, "Same as --transport http")
      ->excludes(stdio)
      ->group(group);
  app.add_option("--host", c.http.host, "HTTP bind address")
      ->type_name("ADDR")
      ->capture_default_str()
      ->envname("MCP_HOST")
      ->group(group);
  app.add_option("--port", c.http.port, "HTTP port (0 picks a free one)")
      ->type_name("N")
      ->capture_default_str()
      ->envname("MCP_PORT")
      ->group(group);
  app.add_option("--path", c.http.path, "Streamable HTTP endpoint")
      ->type_name("PATH")
      ->capture_default_str()
      ->check([](const std::string& p) {
        return !p.empty() && p.front() == '/' ? std::string() : "a path starts with '/'";
      })
      ->group(group);
  const auto not_any = [](const std::string& name) {
    return name == "*" ? "'*' is not a host name; --allow-any-host accepts any Host and Origin "
                         "(DNS-rebinding protection off)"
                       : std::string();
  };
  app.add_option("--allowed-host", c.http.allowed_hosts,
                 "a Host (or Origin host) name accepted over HTTP besides the loopback names "
                 "(repeatable); DNS-rebinding protection stays on")
      ->type_name("NAME")
      ->allow_extra_args(false)
      ->check(not_any)
      ->group(group);
  app.add_option("--allowed-origin", c.http.allowed_origins,
                 "an Origin (\"https://app.example.com\") accepted over HTTP (repeatable)")
      ->type_name("ORIGIN")
      ->allow_extra_args(false)
      ->check(not_any)
      ->group(group);
  app.add_flag("--allow-any-host", c.http.allow_any_host,
               "accept any Host and Origin over HTTP: DNS-rebinding protection off, for a "
               "deployment behind a proxy that checks them (logged at start)")
      ->group(group);
  app.add_flag_callback(
         "--no-legacy-sse", [&c] { c.http.legacy_sse = false; },
         "do not serve the legacy HTTP+SSE transport (GET /sse, POST /messages)")
      ->group(group);
  app.add_option("--max-connections", c.http.max_connections,
                 "HTTP connections open at once; beyond, new ones are answered 503 and closed")
      ->type_name("N")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
      ->group(group);
  app.add_flag_callback(
         "--no-metrics", [&c] { c.http.metrics_path.clear(); },
         "do not serve Prometheus metrics at GET /metrics over HTTP")
      ->group(group);
}

TransportConfig TransportConfig::from_flags(int argc, char** argv) {
  TransportConfig c;
  CLI::App app;
  app.set_help_flag();  // --help belongs to the application
  app.allow_extras();   // and so do the flags it does not know
  add_transport_flags(app, c);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    throw std::invalid_argument(e.what());
  }
  return c;
}

}  // namespace mcp
