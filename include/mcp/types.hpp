// Value types of the MCP server API: what a tool, resource, prompt or completion is, and what
// their handlers return. They mirror the wire shapes of the 2025-11-25 / 2026-07-28 schemas;
// `to_json` functions produce exactly those shapes.
//
// Thread-safety: plain value types.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mcp {

using json = boost::json::value;

// Protocol revisions this SDK speaks. Legacy = handshake + sessions; modern = per-request _meta.
inline constexpr const char* kLatestLegacyVersion = "2025-11-25";
inline constexpr const char* kModernVersion = "2026-07-28";
const std::vector<std::string>& legacy_versions();  // newest first
const std::vector<std::string>& modern_versions();
bool is_legacy_version(std::string_view v);
bool is_modern_version(std::string_view v);

enum class Era { kLegacy, kModern };

struct Icon {
  std::string src{};                 // URL or data: URI
  std::string mime_type{};           // optional
  std::vector<std::string> sizes{};  // optional, e.g. "48x48"
  json to_json() const;
};

// Name, version and display data of this server (serverInfo).
struct Implementation {
  std::string name = "mcp-server";
  std::string version = "0.0.0";
  std::string title{};        // optional
  std::string description{};  // optional
  std::string website_url{};  // optional
  std::vector<Icon> icons{};  // optional
  json to_json() const;
};

// Hints about a tool's behaviour; unset fields are omitted (clients apply the spec defaults).
struct ToolAnnotations {
  std::optional<std::string> title{};
  std::optional<bool> read_only_hint{};
  std::optional<bool> destructive_hint{};
  std::optional<bool> idempotent_hint{};
  std::optional<bool> open_world_hint{};
  bool empty() const;
  json to_json() const;
};

// Whether a tool may run as a task (2026-07-28 extension io.modelcontextprotocol/tasks; the
// 2025-11-25 experimental tasks). Advertised as the tool's execution.taskSupport.
//   kForbidden: always answered synchronously (the default);
//   kOptional:  a task when the client can take one (declared the extension / sent `task`),
//               otherwise synchronous;
//   kRequired:  only as a task; a client that cannot take one gets -32021 (2026-07-28) or
//               -32601 (2025-11-25).
enum class TaskSupport { kForbidden, kOptional, kRequired };
const char* to_string(TaskSupport t);

// Everything about a tool except its handler. `input_schema`/`output_schema` are filled by the
// typed registration; set them yourself for raw tools.
struct ToolSpec {
  std::string name{};  // 1-128 chars of [A-Za-z0-9_.-]
  std::string description{};
  std::string title{};           // optional display name
  json input_schema = nullptr;   // null = {"type":"object"}
  json output_schema = nullptr;  // null = none
  ToolAnnotations annotations{};
  std::vector<Icon> icons{};
  boost::json::object meta{};  // optional _meta
  TaskSupport task_support = TaskSupport::kForbidden;
  // With task support: false = the SDK creates the task before the handler runs (the client gets
  // the task at once); true = the handler starts synchronously and calls ctx.start_task() when
  // it decides to go asynchronous (after MRTR input rounds, or never for a fast path). 2026-07-28
  // only; a 2025-11-25 task-augmented call always gets its task before the handler runs.
  bool task_deferred = false;
  json to_json() const;
};

// Content blocks (text, image, audio, resource_link, embedded resource).
json text_content(std::string text);
json image_content(std::string base64_data, std::string mime_type);
json audio_content(std::string base64_data, std::string mime_type);
json resource_link(std::string uri, std::string name, const std::string& description = {},
                   const std::string& mime_type = {});
json embedded_text_resource(std::string uri, const std::string& mime_type, const std::string& text);
json embedded_blob_resource(std::string uri, const std::string& mime_type,
                            const std::string& base64_blob);

// Result of tools/call. Build one with the helpers or fill the fields.
struct CallToolResult {
  boost::json::array content{};
  std::optional<json> structured_content{};
  bool is_error = false;
  boost::json::object meta{};  // optional _meta

  static CallToolResult text(std::string text);
  static CallToolResult error(std::string message);  // isError:true with one text block
  // structuredContent = value, plus its compact JSON text as a text block (the spec's mirror).
  static CallToolResult structured(json value);
  json to_json() const;
};

struct Resource {
  std::string uri{};
  std::string name{};
  std::string title{};
  std::string description{};
  std::string mime_type{};
  std::optional<std::int64_t> size{};
  std::vector<Icon> icons{};
  boost::json::object annotations{};
  json to_json() const;
};

struct ResourceTemplate {
  std::string uri_template{};  // RFC 6570 level 1/2: {var} and {+var}
  std::string name{};
  std::string title{};
  std::string description{};
  std::string mime_type{};
  std::vector<Icon> icons{};
  json to_json() const;
};

// One item of resources/read contents: text or base64 blob.
struct ResourceContents {
  std::string uri{};
  std::string mime_type{};
  std::optional<std::string> text{};
  std::optional<std::string> blob{};  // base64
  boost::json::object meta{};
  json to_json() const;
};

struct ReadResourceResult {
  std::vector<ResourceContents> contents{};
  json to_json() const;
};

struct PromptArgument {
  std::string name{};
  std::string description{};
  bool required = false;
};

struct PromptSpec {
  std::string name{};
  std::string title{};
  std::string description{};
  std::vector<PromptArgument> arguments{};
  std::vector<Icon> icons{};
  json to_json() const;
};

struct PromptMessage {
  std::string role = "user";  // "user" | "assistant"
  json content{};             // one content block
};

struct GetPromptResult {
  std::string description{};
  std::vector<PromptMessage> messages{};
  json to_json() const;
};

// Answer of completion/complete: at most 100 values are sent.
struct Completion {
  std::vector<std::string> values{};
  std::optional<std::int64_t> total{};
  bool has_more = false;
  json to_json() const;
};

// Identity of an authenticated caller (HTTP bearer token), as returned by a token verifier.
struct Principal {
  std::string subject{};
  std::vector<std::string> scopes{};
  boost::json::object claims{};  // anything else the verifier wants handlers to see
};

enum class LogLevel { kDebug, kInfo, kNotice, kWarning, kError, kCritical, kAlert, kEmergency };
const char* to_string(LogLevel l);
std::optional<LogLevel> parse_log_level(std::string_view s);

}  // namespace mcp
