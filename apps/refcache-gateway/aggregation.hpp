// Aggregation: the one list of tools (and of prompts) the gateway offers, built from every
// upstream's. An item keeps its upstream name unless another upstream offers the same name,
// or it is one of the gateway's own (get_cached_result, gateway_status, ...): then it is named
// "<server>_<name>" (the server's name with characters outside [A-Za-z0-9_.-] replaced by
// '_'). A server with a configured prefix has every item named "<prefix>_<name>" (its names
// do not count as collisions for the others). Each rename forced by a collision is reported,
// for the start-up log; a name that still collides after that is dropped, with a report too.
// When the lists change while serving, `kept` (the names offered so far) wins: an item still
// offered keeps its name, and a newcomer whose name is taken by a kept one is renamed
// "<server>_<name>".
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mcp/types.hpp"

namespace gateway {

// The names one upstream offers of one kind (tools, prompts).
struct UpstreamNames {
  std::string server{};                 // the upstream's name in the configuration
  std::optional<std::string> prefix{};  // its configured prefix
  std::vector<std::string> names{};     // what it offers (hidden ones already removed)
};

// One offered item: the name clients use, and where it comes from.
struct Routed {
  std::string exposed_name{};
  std::size_t upstream = 0;  // index into the input vector
  std::size_t item = 0;      // index into that upstream's names
};

struct NameAggregation {
  std::vector<Routed> items{};
  std::vector<std::string> reports{};  // collisions and what was done about them
};

// Names offered so far: (server, the upstream's name) -> the name offered.
using KeptNames = std::map<std::pair<std::string, std::string>, std::string>;

// `reserved`: the gateway's own names, which upstream items never take. `kind` ("tool",
// "prompt") names the items in reports. `kept`: see above.
NameAggregation aggregate(const std::vector<UpstreamNames>& upstreams,
                          const std::set<std::string>& reserved, const std::string& kind,
                          const KeptNames& kept = {});

// `name` with every character outside [A-Za-z0-9_.-] replaced by '_'.
std::string sanitize_name(const std::string& name);

}  // namespace gateway
