// The transport flags every MCP server program built on this SDK offers, added to a CLI11 app
// (CLI11 is header-only; Debian: libcli11-dev) so that a program's own flags and these share
// one parser and one --help:
//
//   --transport stdio|http     env MCP_TRANSPORT  stdio: newline-delimited JSON on stdin/stdout;
//                                                 http: Streamable HTTP (and legacy SSE)
//   --stdio, --http                               short for --transport stdio / http
//   --host ADDR                env MCP_HOST       HTTP bind address
//   --port N                   env MCP_PORT       HTTP port; 0 picks a free one
//   --path PATH                                   Streamable HTTP endpoint (/mcp)
//   --allowed-host NAME        (repeatable)       HttpOptions::allowed_hosts: a Host (and
//                                                 Origin host) accepted besides loopback names;
//                                                 "*" is refused: see --allow-any-host
//   --allowed-origin ORIGIN    (repeatable)       HttpOptions::allowed_origins
//   --allow-any-host                              HttpOptions::allow_any_host: DNS-rebinding
//                                                 protection off (a warning at start)
//   --no-legacy-sse                               do not serve GET /sse + POST /messages
//   --max-connections N                           HttpOptions::max_connections
//   --no-metrics                                  do not serve GET /metrics
//
// A flag wins over its environment variable, which wins over the value `config` holds when the
// flags are added (so set the program's own defaults, e.g. its port, before). Values are
// checked when parsed (a port outside 0-65535, a path without a leading '/', "*" as a host
// name are parse errors).
//
//   CLI::App app{"My MCP server", "my-server"};
//   mcp::TransportConfig transport;
//   transport.http.port = 8001;
//   mcp::add_transport_flags(app, transport);
//   app.add_option("--data", data_dir, "...");        // the program's own flags
//   CLI11_PARSE(app, argc, argv);
//   return mcp::serve(server, transport);
//
// Thread-safety: the app writes `config` while it parses; keep `config` alive until then.
#pragma once

#include <CLI/CLI.hpp>

#include "mcp/serve.hpp"

namespace mcp {

void add_transport_flags(CLI::App& app, TransportConfig& config);

}  // namespace mcp
