// mcp::ClientError: a call of mcp::Client that failed on the client's side of the connection,
// without an answer of the server's to report: its deadline passed, the caller cancelled it, the
// connection closed, the server's answer broke the protocol, too many calls were in flight,
// the server or the negotiated era does not offer what was asked, or authorization failed.
//
// It derives from mcp::Error, so `catch (const mcp::Error&)` sees every failure of a call: an
// mcp::Error that is not a ClientError is the server's own JSON-RPC error (code, message,
// data as the server sent them). A ClientError's code() is the JSON-RPC code closest in
// meaning; it is never sent to anyone (-32001 timeout, -32000 connection closed or not
// connected, -32800 cancelled, -32601 unsupported, -32603 the others).
//
// Thread-safety: plain value type.
#pragma once

#include <string>

#include "mcp/errors.hpp"

namespace mcp {

class ClientError : public Error {
 public:
  enum class Kind {
    kTimeout,          // the call's deadline passed; the client told the server it gave up
    kCancelled,        // the caller cancelled the call (CallOptions::cancellation)
    kTransportClosed,  // the connection is gone (the server process exited, close() was called)
    kNotConnected,     // connect() has not succeeded yet
    kMalformedAnswer,  // the server's answer does not have the shape the protocol gives it
    kBusy,             // too many calls in flight, or the transport cannot queue more
    kUnsupported,      // the server or the negotiated era does not offer this (a method,
                       // an input request no handler answers, too many input rounds)
    kToolError,        // a typed tool call (Client::call_tool<R>) was answered isError:true
    kAuthorization,    // the HTTP server wants authorization the client could not get (OAuth
                       // discovery, registration, the token endpoint, an issuer check failed)
  };

  ClientError(Kind kind, const std::string& message, boost::json::value data = nullptr);
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

// "timeout", "cancelled", "transport closed", ...
const char* to_string(ClientError::Kind kind);

}  // namespace mcp
