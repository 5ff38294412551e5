// Arguments for a tool call made without a user to fill them: a value for each required
// property of the tool's inputSchema, taken from the property's `default`, else its first
// `enum` member, else a plain value of its `type`.
//
// Thread-safety: a pure function.
#pragma once

#include <boost/json/object.hpp>

#include "mcp/types.hpp"

namespace conformance_client {

// {} for a schema without required properties (or no schema).
boost::json::object sample_arguments(const mcp::json& input_schema);

}  // namespace conformance_client
