// Authorization for the auth/* scenarios of the MCP conformance suite's client mode: one entry
// point that main.cpp calls before connecting, so that the authorization flow lives apart from
// the scenarios that need none.
//
// Thread-safety: configure_auth() is called once, on the main thread, before the client starts.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "mcp/client_http.hpp"

namespace conformance_client {

// Configures authorization for an auth/* scenario on the transport options; returns false when the
// scenario needs none.
bool configure_auth(const std::string& scenario, const boost::json::object& context,
                    mcp::StreamableHttpClientOptions& http);

}  // namespace conformance_client
