// Internal: the checks the HTTP transport makes on a request before (and while) a handler serves
// it, as functions of the request and the options alone -- no socket, no session table -- so
// that tests/fuzz/fuzz_http.cpp runs exactly the code the server runs:
//
//   - header access (case-insensitive names, trimmed values);
//   - Host and Origin validation (DNS-rebinding protection; HttpOptions::allowed_hosts,
//     allowed_origins, allow_any_host);
//   - CORS: the preflight answer and the headers of answers to allowed origins;
//   - bearer-token authentication (HttpOptions::auth) and the RFC 9728 metadata URL its
//     challenges name;
//   - the era of a POST (MCP-Protocol-Version header or the body's _meta version), and the
//     2026-07-28 routing headers (Mcp-Method, Mcp-Name, Mcp-Param-*, SEP-2243) compared with
//     the body, values given as =?base64?...?= decoded strictly;
//   - the small parsers of Last-Event-ID ("<stream>-<seq>") and the legacy ?sessionId= query.
//
// Thread-safety: every function is a pure function of its arguments, except authenticate(),
// which calls AuthOptions::verify (which must be thread-safe itself).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mcp/http.hpp"

namespace mcp::detail {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// --- header access -------------------------------------------------------------------------
std::string_view trim(std::string_view s);  // spaces and tabs at both ends
std::string lower(std::string_view s);      // ASCII
// The value of header `name` (empty when absent), and whether it is present.
std::string header(const HttpRequest& req, std::string_view name);
bool has_header(const HttpRequest& req, std::string_view name);

// --- Host and Origin (DNS-rebinding protection) ---------------------------------------------
// localhost, 127.0.0.1, [::1] and ::1, in any case.
bool is_loopback_name(std::string_view host);
// "host:port" -> "host"; "[v6]:port" -> "[v6]"; no port -> as given.
std::string_view host_part(std::string_view hostport);
// The Host header names a loopback host or one of allowed_hosts (any port). A request without
// Host is refused. Always true with allow_any_host or without validate_host_origin.
bool host_allowed(const HttpOptions& options, const HttpRequest& req);
// No Origin header, or an Origin in allowed_origins, or one whose host is a loopback name or
// in allowed_hosts. Always true with allow_any_host or without validate_host_origin.
bool origin_allowed(const HttpOptions& options, const HttpRequest& req);

// --- CORS ------------------------------------------------------------------------------------
// Adds Access-Control-Allow-Origin (the request's Origin), Vary and the exposed MCP headers to
// an answer to a request that carries an Origin (one that origin_allowed() accepted).
void add_cors(const HttpRequest& req, HttpResponse& res);
// The same as header lines ("Name: value\r\n"...) for an SSE head written by hand; empty
// without an Origin.
std::string cors_header_lines(const HttpRequest& req);
// Fills the 204 answer to an OPTIONS preflight: the methods, the MCP headers and whatever the
// request asked for in Access-Control-Request-Headers, and a max-age of a day.
void fill_preflight(const HttpRequest& req, HttpResponse& res);

// --- bearer-token authentication (RFC 6750, RFC 9728) ---------------------------------------
// The canonical URL of the MCP endpoint (AuthOptions::resource, else http://<Host><path>).
std::string resource_url(const HttpOptions& options, const HttpRequest& req,
                         std::uint16_t bound_port);
// Where the protected-resource metadata of resource_url() is served:
// <origin>/.well-known/oauth-protected-resource<path of the resource>.
std::string metadata_url(const HttpOptions& options, const HttpRequest& req,
                         std::uint16_t bound_port);

struct AuthOutcome {
  // The caller, when auth is configured and the token is valid with every required scope.
  std::optional<Principal> principal{};
  // Refused: 401 (no or invalid token) or 403 (a required scope missing).
  bool denied = false;
  boost::beast::http::status status = boost::beast::http::status::ok;
  std::string message{};           // the JSON-RPC error message of the answer
  std::string www_authenticate{};  // the challenge (names the metadata URL and the scopes)
};
// Without HttpOptions::auth (or without a verify function): no principal, not denied.
AuthOutcome authenticate(const HttpOptions& options, const HttpRequest& req,
                         std::uint16_t bound_port);

// --- era and routing headers -----------------------------------------------------------------
// A POST is served in the 2026-07-28 era when its MCP-Protocol-Version header names a version
// that is not a legacy one, or, without the header, when the body carries the _meta version.
bool modern_request(const HttpRequest& req, const boost::json::value& message);
// The Accept header allows an SSE answer (absent, text/event-stream or */*).
bool accepts_sse(const HttpRequest& req);
// Decodes an Mcp-Name / Mcp-Param-* value: "=?base64?...?=" is strict base64 (RFC 4648 with
// padding), anything else is taken literally (trimmed). False on bad base64.
bool decode_header_value(std::string_view value, std::string& out);
// SEP-2243: a 2026-07-28 request's MCP-Protocol-Version and Mcp-Method headers must be present
// and Mcp-Method equal the body's method; Mcp-Name must equal params.name (tools/call,
// prompts/get), params.uri (resources/read) or params.taskId (tasks/get|update|cancel); each
// top-level argument of a tools/call that the tool marks x-mcp-header must be mirrored in its
// Mcp-Param-<suffix> header, and no such header given for an absent argument. Returns what is
// wrong (the text after "Header mismatch: "), or nullopt when the headers agree with `message`.
std::optional<std::string> routing_header_mismatch(const HttpRequest& req,
                                                   const boost::json::object& message,
                                                   const std::string& method, const Server& server);

// --- small parsers ---------------------------------------------------------------------------
// Last-Event-ID "<stream id>-<sequence>" (the stream id may contain dashes; the sequence is the
// part after the last one, read as by strtoull). False when there is no dash.
bool parse_last_event_id(std::string_view value, std::string& stream_id, std::uint64_t& after);
// The value of sessionId= in a query string ("a=1&sessionId=X"); the last one wins; empty when
// absent.
std::string session_id_from_query(std::string_view query);

}  // namespace mcp::detail
