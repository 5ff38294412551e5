// Aggregation: the one tool list the gateway offers, built from every upstream's tools. A tool
// keeps its upstream name unless that name is offered by another upstream too, or is one of
// the gateway's own tools (get_cached_result, gateway_status, ...): then it is named
// "<server>_<tool>" (the server's name with characters outside [A-Za-z0-9_.-] replaced by
// '_'). A server with a configured prefix has every tool named "<prefix>_<tool>" (its names
// do not count as collisions for the others). Each rename forced by a collision is reported, for
// the start-up log; a name that still collides after that is dropped, with a report too.
//
// Thread-safety: a pure function of its arguments.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mcp/types.hpp"

namespace gateway {

// The tools of one upstream, as aggregation sees them.
struct UpstreamTools {
  std::string server{};                 // the upstream's name in the configuration
  std::optional<std::string> prefix{};  // its configured prefix
  std::vector<mcp::ToolSpec> tools{};   // the tools it offers (hidden ones already removed)
};

// One tool of the gateway's list.
struct RoutedTool {
  std::string exposed_name{};  // the name clients call
  std::size_t upstream = 0;    // index into the input vector
  mcp::ToolSpec spec{};        // the upstream's spec, under its upstream name
};

struct Aggregation {
  std::vector<RoutedTool> tools{};
  std::vector<std::string> reports{};  // collisions and what was done about them
};

// `reserved`: the gateway's own tool names, which upstream tools never take.
Aggregation aggregate(const std::vector<UpstreamTools>& upstreams,
                      const std::set<std::string>& reserved);

// `name` with every character outside [A-Za-z0-9_.-] replaced by '_'.
std::string sanitize_name(const std::string& name);

}  // namespace gateway
