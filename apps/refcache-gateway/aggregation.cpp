#include "aggregation.hpp"

#include <cctype>
#include <map>

namespace gateway {

std::string sanitize_name(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') c = '_';
  return out;
}

Aggregation aggregate(const std::vector<UpstreamTools>& upstreams,
                      const std::set<std::string>& reserved) {
  Aggregation out;
  std::map<std::string, std::vector<std::string>> offered_by;
  // How many upstreams without a prefix offer each name (a prefixed server's names are its
  // own, and collide with nothing).
  for (const auto& u : upstreams)
    if (!u.prefix)
      for (const auto& t : u.tools) offered_by[t.name].push_back(u.server);

  std::set<std::string> taken = reserved;
  for (std::size_t i = 0; i < upstreams.size(); ++i) {
    const auto& u = upstreams[i];
    for (const auto& t : u.tools) {
      std::string name;
      if (u.prefix) {
        name = *u.prefix + "_" + t.name;
      } else {
        const auto& servers = offered_by[t.name];
        if (reserved.contains(t.name)) {
          name = sanitize_name(u.server) + "_" + t.name;
          out.reports.push_back("tool '" + t.name + "' of '" + u.server +
                                "' is a name of the gateway's own: offered as '" + name + "'");
        } else if (servers.size() > 1) {
          name = sanitize_name(u.server) + "_" + t.name;
          std::string all;
          for (const auto& s : servers) all += (all.empty() ? "'" : ", '") + s + "'";
          std::string report = "tool '" + t.name + "' is offered by ";
          report += all;
          report += ": the one of '" + u.server + "' is offered as '";
          report += name;
          report += "'";
          out.reports.push_back(std::move(report));
        } else {
          name = t.name;
        }
      }
      if (taken.contains(name)) {
        out.reports.push_back("tool '" + t.name + "' of '" + u.server + "' would be named '" +
                              name + "', which is taken: not offered");
        continue;
      }
      taken.insert(name);
      out.tools.push_back(RoutedTool{.exposed_name = name, .upstream = i, .spec = t});
    }
  }
  return out;
}

}  // namespace gateway
