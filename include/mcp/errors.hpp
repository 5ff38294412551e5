// mcp::Error: a JSON-RPC error that a handler or the SDK reports to the client.
//
// Throw it from a resource, prompt or completion handler to answer with a protocol error; throw
// it from a tool handler only for protocol-level conditions (e.g. a missing client capability).
// Ordinary tool failures are results with isError:true (any other exception a tool throws
// becomes one), so the model can read and correct them.
//
// Thread-safety: plain value type.
#pragma once

#include <boost/json/value.hpp>
#include <stdexcept>
#include <string>

namespace mcp {

// JSON-RPC 2.0 and MCP error codes.
namespace error_code {
inline constexpr int kParseError = -32700;      // invalid JSON; id is null
inline constexpr int kInvalidRequest = -32600;  // not a JSON-RPC request
inline constexpr int kMethodNotFound = -32601;  // modern HTTP: status 404
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kResourceNotFound = -32002;  // legacy era only; modern uses -32602
inline constexpr int kHeaderMismatch = -32020;    // 2026-07-28, HTTP 400
inline constexpr int kMissingRequiredClientCapability = -32021;  // 2026-07-28, HTTP 400
inline constexpr int kUnsupportedProtocolVersion = -32022;       // 2026-07-28, HTTP 400
}  // namespace error_code

class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message, boost::json::value data = nullptr)
      : std::runtime_error(message), code_(code), data_(std::move(data)) {}
  int code() const noexcept { return code_; }
  const boost::json::value& data() const noexcept { return data_; }

 private:
  int code_;
  boost::json::value data_;
};

// Thrown by resource handlers (or the SDK) when a URI names nothing. Answered as -32002 in the
// legacy era and -32602 (with data.uri) in the modern era.
class ResourceNotFound : public std::runtime_error {
 public:
  explicit ResourceNotFound(std::string uri)
      : std::runtime_error("Resource not found: " + uri), uri_(std::move(uri)) {}
  const std::string& uri() const noexcept { return uri_; }

 private:
  std::string uri_;
};

}  // namespace mcp
