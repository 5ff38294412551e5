// The URL handling of the client's HTTP transports: a server URL split into what a connection
// and its requests need, the legacy SSE endpoint event resolved against the stream's URL, and a
// query parameter read from a request target.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mcp::http_client {

// A server URL (http:// or https://), as a connection and its requests use it.
struct Url {
  std::string text{};         // as given
  bool tls = false;           // https://
  std::string host{};         // for the resolver (an IPv6 address without brackets)
  std::string port{};         // "80" unless given
  std::string host_header{};  // the Host header: as in the URL
  std::string target{};       // path and query
};

// `s` parsed; a ClientError (kTransportClosed) naming the URL and what is wrong with it.
Url parse_url(const std::string& s);

// `v` in ASCII lower case (header names, media types).
std::string lower(std::string_view v);

// The path and query of a legacy SSE endpoint event (absolute on the same origin, absolute
// path, or relative to the stream's URL); nullopt for another origin.
std::optional<std::string> endpoint_target(const Url& base, std::string_view ep);

// The value of `name` in the query of `target` ("" when absent).
std::string query_param(std::string_view target, std::string_view name);

}  // namespace mcp::http_client
