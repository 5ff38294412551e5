// The answer of a client that accepts an elicitation form as it stands: SEP-1034 has the client
// fill each field the user left alone with the `default` of the requested schema.
//
// Thread-safety: a pure function (the client may call it from several handler threads).
#pragma once

#include "mcp/client.hpp"

namespace conformance_client {

// action "accept" with content = every property of request.requested_schema that has a
// default, at that default; "decline" for a url-mode request (there is nobody to visit it).
mcp::ElicitationResult accept_with_defaults(const mcp::ElicitationRequest& request);

}  // namespace conformance_client
