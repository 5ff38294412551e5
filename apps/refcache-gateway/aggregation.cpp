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

NameAggregation aggregate(const std::vector<UpstreamNames>& upstreams,
                          const std::set<std::string>& reserved, const std::string& kind) {
  NameAggregation out;
  // Which upstreams without a prefix offer each name (a prefixed server's names are its own,
  // and collide with nothing).
  std::map<std::string, std::vector<std::string>> offered_by;
  for (const auto& u : upstreams)
    if (!u.prefix)
      for (const auto& n : u.names) offered_by[n].push_back(u.server);

  std::set<std::string> taken = reserved;
  for (std::size_t i = 0; i < upstreams.size(); ++i) {
    const auto& u = upstreams[i];
    for (std::size_t j = 0; j < u.names.size(); ++j) {
      const std::string& original = u.names[j];
      std::string name;
      if (u.prefix) {
        name = *u.prefix + "_" + original;
      } else if (reserved.contains(original)) {
        name = sanitize_name(u.server) + "_" + original;
        std::string report = kind + " '" + original + "' of '";
        report += u.server + "' is a name of the gateway's own: offered as '";
        report += name + "'";
        out.reports.push_back(std::move(report));
      } else if (const auto& servers = offered_by[original]; servers.size() > 1) {
        name = sanitize_name(u.server) + "_" + original;
        std::string all;
        for (const auto& s : servers) all += (all.empty() ? "'" : ", '") + s + "'";
        std::string report = kind + " '" + original + "' is offered by ";
        report += all;
        report += ": the one of '" + u.server + "' is offered as '";
        report += name + "'";
        out.reports.push_back(std::move(report));
      } else {
        name = original;
      }
      if (taken.contains(name)) {
        std::string report = kind + " '" + original + "' of '";
        report += u.server + "' would be named '";
        report += name + "', which is taken: not offered";
        out.reports.push_back(std::move(report));
        continue;
      }
      taken.insert(name);
      out.items.push_back(Routed{.exposed_name = name, .upstream = i, .item = j});
    }
  }
  return out;
}

}  // namespace gateway
