// mcp::ClientError (mcp/client_error.hpp): its codes and names.
#include "mcp/client_error.hpp"

namespace mcp {

namespace {
int code_of(ClientError::Kind kind) {
  switch (kind) {
    case ClientError::Kind::kTimeout:
      return -32001;
    case ClientError::Kind::kTransportClosed:
    case ClientError::Kind::kNotConnected:
      return -32000;
    case ClientError::Kind::kCancelled:
      return -32800;
    case ClientError::Kind::kUnsupported:
      return error_code::kMethodNotFound;
    default:
      return error_code::kInternalError;
  }
}
}  // namespace

ClientError::ClientError(Kind kind, const std::string& message, boost::json::value data)
    : Error(code_of(kind), message, std::move(data)), kind_(kind) {}

const char* to_string(ClientError::Kind kind) {
  switch (kind) {
    case ClientError::Kind::kTimeout:
      return "timeout";
    case ClientError::Kind::kCancelled:
      return "cancelled";
    case ClientError::Kind::kTransportClosed:
      return "transport closed";
    case ClientError::Kind::kNotConnected:
      return "not connected";
    case ClientError::Kind::kMalformedAnswer:
      return "malformed answer";
    case ClientError::Kind::kBusy:
      return "busy";
    case ClientError::Kind::kUnsupported:
      return "unsupported";
    case ClientError::Kind::kToolError:
      return "tool error";
    case ClientError::Kind::kAuthorization:
      return "authorization";
  }
  return "unknown";
}

}  // namespace mcp
