#include "elicitation_defaults.hpp"

namespace conformance_client {

mcp::ElicitationResult accept_with_defaults(const mcp::ElicitationRequest& request) {
  if (request.mode == "url") return {.action = "decline"};
  mcp::ElicitationResult r{.action = "accept"};
  if (!request.requested_schema.is_object()) return r;
  const auto* properties = request.requested_schema.get_object().if_contains("properties");
  if (!properties || !properties->is_object()) return r;
  for (const auto& [name, property] : properties->get_object())
    if (property.is_object())
      if (const auto* d = property.get_object().if_contains("default")) r.content[name] = *d;
  return r;
}

}  // namespace conformance_client
