#include "auth_setup.hpp"

namespace conformance_client {

// The client has no OAuth support to configure: every scenario, auth/* included, runs without
// authorization, and the auth/* ones the suite scores fail at the server's 401 (they are the
// expected failures of tests/conformance/expected-failures-client.yml).
bool configure_auth(const std::string& /*scenario*/, const boost::json::object& /*context*/,
                    mcp::StreamableHttpClientOptions& /*http*/) {
  return false;
}

}  // namespace conformance_client
