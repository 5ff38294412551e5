// The gateway's configuration file: the `mcpServers` object MCP clients already use (Claude
// Desktop's claude_desktop_config.json, Claude Code's .mcp.json; VS Code's `servers` is read
// the same way), so that a client's file works unchanged. Each server is a stdio upstream
// (`command`, `args`, `env`, `cwd`) or an HTTP one (`url`, `headers`; `type` "http" or
// "streamable-http" for Streamable HTTP, "sse" for the legacy HTTP+SSE transport). ${VAR} and
// ${VAR:-default} in those strings are expanded from the gateway's environment, as Claude
// Code does. A server marked "disabled": true is left out. Members the gateway does not know are
// ignored, except inside its own `refcache` members, where a misspelt setting is an error:
//
//   { "refcache": {"threshold": 10000, "preview_size": 1000,           // defaults, optional
//                  "max_result_mb": 256},
//     "mcpServers": { "fs": { "command": "npx", "args": ["-y", "..."],
//       "refcache": {"prefix": "fs", "threshold": 5000, "preview_size": 500,
//                    "hide_tools": ["move_file"], "accept_refs": true,
//                    "cache_read_only_ttl": 60, "media": "ref",
//                    "oauth": {"client_id": "...", "client_secret": "${SECRET}"},
//                    "tools": {"read_text_file": {"threshold": 2000, "cache_ttl": 0}}} } } }
//
// Thread-safety: plain values; load_config() touches only its arguments and the environment.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace gateway {

// What a configuration error says: "FILE: /json/pointer: what is wrong" (the pointer is empty
// for errors of the whole file, and "line L, column C" for JSON syntax errors).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Settings of one upstream tool; unset members take the server's.
struct ToolSettings {
  std::optional<std::size_t> threshold{};     // result size above which it becomes a ref
  std::optional<std::size_t> preview_size{};  // preview budget of that ref
  std::optional<bool> hidden{};               // not offered to clients
  std::optional<bool> accept_refs{};          // arguments may be ref ids
  // Seconds an identical call's result is answered from the cache (response_cache.hpp); 0 =
  // never, whatever the tool's annotations say. Unset: the read-only rule of the server.
  std::optional<std::chrono::seconds> cache_ttl{};
  // Images, audio and embedded resources stored by reference (media_refs.hpp) or passed.
  std::optional<bool> media_by_ref{};
};

enum class UpstreamKind { kStdio, kStreamableHttp, kLegacySse };

// OAuth of an HTTP upstream (`refcache.oauth` of its entry), as the MCP authorization
// specification gives it (mcp/client_oauth.hpp). By default an HTTP upstream that answers 401
// is authorized the way clients do it: discovery, dynamic registration, and the authorization
// code flow, whose person's step is a URL logged for a browser on this machine
// (oauth_browser_step.hpp). Headless gateways give an access token, or client credentials.
// Strings take ${VAR} like the rest of the entry, so secrets can stay in the environment.
struct OAuthSettings {
  bool enabled = true;                       // `"oauth": false`: never authorize
  std::string access_token{};                // a fixed token: no flow
  std::string client_id{};                   // a pre-registered client
  std::string client_secret{};               // its secret (confidential clients)
  bool client_credentials = false;           // the client_credentials grant, no person
  std::string token_endpoint_auth_method{};  // "": chosen from the server's metadata
  std::string private_key_file{};            // private_key_jwt: the client's key (PEM file)
  std::string private_key_alg{"ES256"};      // its JWS algorithm: ES256 or RS256
  std::string client_id_metadata_url{};      // a Client ID Metadata Document (https URL)
  std::string scope{};                       // "": the specification's selection
  // Where the browser comes back: http:// on a loopback host with a port. "": a free port of
  // 127.0.0.1 at start-up (fine for dynamic registration; a pre-registered client must give
  // the URI it registered).
  std::string redirect_uri{};
  std::string ca_file{};  // a PEM file trusted beside the system's roots, for https endpoints
  // How long a flow waits for the browser. Default 300 s.
  std::chrono::seconds authorization_timeout{300};
};

// One entry of `mcpServers`.
struct UpstreamConfig {
  std::string name{};                            // the member's name in mcpServers
  UpstreamKind kind = UpstreamKind::kStdio;      // from `type`, else `command` or `url`
  std::string command{};                         // stdio: the program
  std::vector<std::string> args{};               // stdio: its arguments
  std::map<std::string, std::string> env{};      // stdio: added to the gateway's environment
  std::string cwd{};                             // stdio: working directory; empty = the gateway's
  std::string url{};                             // HTTP: the endpoint (or the SSE stream's URL)
  std::map<std::string, std::string> headers{};  // HTTP: sent with every request
  // HTTP: authorization when the server asks for it; not used when `headers` give an
  // Authorization of their own.
  OAuthSettings oauth{};
  // Tool name prefix ("fs" names read_file "fs_read_file"); unset: a prefix of the server's
  // name only where a tool name collides.
  std::optional<std::string> prefix{};
  std::optional<std::size_t> threshold{};     // unset: the file's default
  std::optional<std::size_t> preview_size{};  // unset: the file's default
  std::vector<std::string> hide_tools{};      // tools not offered to clients
  bool accept_refs = true;                    // arguments of its tools may be ref ids
  // Seconds the results of its tools marked readOnlyHint are answered from the cache; unset:
  // the file's default.
  std::optional<std::chrono::seconds> cache_read_only_ttl{};
  std::optional<bool> media_by_ref{};           // `media`: "ref" or "pass"; unset: the file's
  std::map<std::string, ToolSettings> tools{};  // per-tool overrides, by upstream tool name
};

// The effective settings of one tool, the file's defaults, the server's and the tool's merged.
struct EffectiveSettings {
  std::size_t threshold = 0;
  std::size_t preview_size = 0;
  bool hidden = false;
  bool accept_refs = true;
  std::optional<std::chrono::seconds> cache_ttl{};  // the tool's own, if set
  std::chrono::seconds cache_read_only_ttl{0};      // for a tool marked readOnlyHint
  bool media_by_ref = false;                        // media_refs.hpp
};

// The largest max_result_mb a file may set (MiB): more than one process should hold as one
// message.
inline constexpr std::size_t kMaxResultMb = 4096;

struct GatewayConfig {
  std::string path{};  // the file read
  // Result size (in the cache's size units, tokens by default) above which a result becomes
  // a ref. Default 10000 tokens: under Claude Code's 25,000-token refusal with room for the
  // estimate's error, and under what other common clients show whole.
  std::size_t threshold = 10000;
  // Preview budget of a ref; unset: the cache's (--max-size).
  std::optional<std::size_t> preview_size{};
  // Seconds the results of tools marked readOnlyHint are answered from the cache for an
  // identical call of the same caller (response_cache.hpp). Default 0: never, since an
  // upstream's hint is only its word and even a read-only tool's answer changes over time.
  std::chrono::seconds cache_read_only_ttl{0};
  // `media`: "ref" stores images, audio and embedded resources of results by reference
  // (media_refs.hpp); "pass" (the default) passes them on as the upstream sent them.
  bool media_by_ref = false;
  // The largest message, in MiB, the gateway takes from an upstream (a result, with its
  // JSON-RPC envelope): a longer one fails its call, and a stdio upstream sending it is
  // restarted, since the rest of its line cannot be skipped. Default 256 MiB, so that a result
  // far beyond any threshold is still stored; the gateway holds at most one such message per
  // call in flight (docs/gateway.md, "Large results").
  std::size_t max_result_mb = 256;
  std::vector<UpstreamConfig> upstreams{};  // in the file's order

  // The settings of tool `tool` of upstream `u`, given the cache's preview size.
  EffectiveSettings settings_for(const UpstreamConfig& u, const std::string& tool,
                                 std::size_t cache_preview_size) const;
};

// Reads and checks `path`. Throws ConfigError naming the file, the JSON pointer and the fault.
GatewayConfig load_config(const std::string& path);

// Parses configuration text; `path` only names it in errors.
GatewayConfig parse_config(const std::string& text, const std::string& path);

}  // namespace gateway
