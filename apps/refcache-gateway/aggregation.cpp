#include "aggregation.hpp"

#include <cctype>
#include <initializer_list>
#include <map>
#include <string_view>

namespace gateway {

namespace {

// The pieces one after the other (one allocation, no temporaries).
std::string cat(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (auto p : parts) n += p.size();
  std::string out;
  out.reserve(n);
  for (auto p : parts) out += p;
  return out;
}

}  // namespace

std::string sanitize_name(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') c = '_';
  return out;
}

NameAggregation aggregate(const std::vector<UpstreamNames>& upstreams,
                          const std::set<std::string>& reserved, const std::string& kind,
                          const KeptNames& kept) {
  NameAggregation out;
  // Which upstreams without a prefix offer each name (a prefixed server's names are its own,
  // and collide with nothing).
  std::map<std::string, std::vector<std::string>> offered_by;
  for (const auto& u : upstreams)
    if (!u.prefix)
      for (const auto& n : u.names) offered_by[n].push_back(u.server);

  std::set<std::string> taken = reserved;
  // Items still offered keep their names; they are taken before any other is named.
  std::map<std::pair<std::size_t, std::size_t>, std::string> keeps;
  std::set<std::string> kept_names;
  for (std::size_t i = 0; i < upstreams.size(); ++i)
    for (std::size_t j = 0; j < upstreams[i].names.size(); ++j)
      if (auto it = kept.find({upstreams[i].server, upstreams[i].names[j]});
          it != kept.end() && !taken.contains(it->second)) {
        taken.insert(it->second);
        kept_names.insert(it->second);
        keeps[{i, j}] = it->second;
      }
  for (std::size_t i = 0; i < upstreams.size(); ++i) {
    const auto& u = upstreams[i];
    for (std::size_t j = 0; j < u.names.size(); ++j) {
      const std::string& original = u.names[j];
      if (auto k = keeps.find({i, j}); k != keeps.end()) {
        out.items.push_back(Routed{.exposed_name = k->second, .upstream = i, .item = j});
        continue;
      }
      std::string name;
      if (u.prefix) {
        name = *u.prefix + "_" + original;
      } else if (reserved.contains(original)) {
        name = sanitize_name(u.server) + "_" + original;
        out.reports.push_back(cat({kind, " '", original, "' of '", u.server,
                                   "' is a name of the gateway's own: offered as '", name, "'"}));
      } else if (const auto& servers = offered_by[original]; servers.size() > 1) {
        name = sanitize_name(u.server) + "_" + original;
        std::string all;
        for (const auto& s : servers) all += cat({all.empty() ? "'" : ", '", s, "'"});
        out.reports.push_back(cat({kind, " '", original, "' is offered by ", all, ": the one of '",
                                   u.server, "' is offered as '", name, "'"}));
      } else {
        name = original;
      }
      if (!u.prefix && name == original && kept_names.contains(name)) {
        const std::string renamed = sanitize_name(u.server) + "_" + original;
        out.reports.push_back(
            cat({kind, " '", original, "' of '", u.server,
                 "' is already offered by another server: offered as '", renamed, "'"}));
        name = renamed;
      }
      if (taken.contains(name)) {
        out.reports.push_back(cat({kind, " '", original, "' of '", u.server, "' would be named '",
                                   name, "', which is taken: not offered"}));
        continue;
      }
      taken.insert(name);
      out.items.push_back(Routed{.exposed_name = name, .upstream = i, .item = j});
    }
  }
  return out;
}

}  // namespace gateway
