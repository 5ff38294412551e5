// ls, show, rm, clear, stats: looking at and deleting entries.
#include <algorithm>
#include <boost/json/serialize.hpp>
#include <map>
#include <ostream>

#include "commands.hpp"
#include "entry_lines.hpp"
#include "table_output.hpp"

namespace refcache::admin {

namespace json = boost::json;

std::shared_ptr<Backend> open_store(const std::string& url) {
  return open_backend(url);
}

namespace {

std::string owner_of(const CacheEntry& e) {
  return e.policy.owner.value_or("-");
}

}  // namespace

int run_ls(Backend& b, const CommandContext& c) {
  std::optional<std::string_view> ns;
  if (!c.cl.args.empty()) ns = c.cl.args[0];
  std::vector<std::string> ids = b.keys(ns);
  const double now = unix_now();
  // Sorted by ref id; only the entries printed are read, so the output and the reads are
  // bounded by --limit whatever the store's size.
  std::sort(ids.begin(), ids.end());
  std::vector<EntryRecord> rows;
  std::size_t more = 0;
  for (const auto& id : ids) {
    if (rows.size() >= c.cl.limit) {
      ++more;
      continue;
    }
    EntryPtr e = b.get(id);
    if (!e) continue;  // expired or removed meanwhile
    rows.push_back({id, b.binding_of(id), *e});
  }
  if (c.cl.json) {
    json::array arr;
    for (const auto& r : rows) {
      json::object o;
      o["ref_id"] = r.ref_id;
      o["key"] = r.binding ? json::value(r.binding->key) : json::value(nullptr);
      o["namespace"] = r.entry.ns;
      o["size"] = value_bytes(r.entry);
      o["ttl_seconds"] =
          r.entry.expires_at ? json::value(*r.entry.expires_at - now) : json::value(nullptr);
      o["owner"] = r.entry.policy.owner ? json::value(*r.entry.policy.owner) : json::value(nullptr);
      arr.push_back(std::move(o));
    }
    json::object top;
    top["entries"] = std::move(arr);
    top["more"] = more;
    c.out << json::serialize(top) << '\n';
  } else {
    Table t({"REF", "KEY", "NAMESPACE", "SIZE", "TTL", "OWNER"});
    for (const auto& r : rows) {
      double left = r.entry.expires_at ? *r.entry.expires_at - now : 0;
      t.add_row({r.ref_id, r.binding ? r.binding->key : "-", r.entry.ns,
                 human_bytes(static_cast<double>(value_bytes(r.entry))),
                 human_ttl(r.entry.expires_at ? &left : nullptr), owner_of(r.entry)});
    }
    t.print(c.out);
    if (more > 0) c.err << more << " more entries not shown (raise --limit)\n";
  }
  return 0;
}

int run_show(Backend& b, const CommandContext& c) {
  const std::string& ref = c.cl.args[0];
  EntryPtr e = b.get(ref);
  if (!e) {
    c.err << "refcache: unknown ref '" << ref << "' (no such entry, or it expired)\n";
    return 1;
  }
  EntryRecord r{ref, b.binding_of(ref), *e};
  const double now = unix_now();
  if (c.cl.json) {
    c.out << format_entry_line(r, now) << '\n';
    return 0;
  }
  double left = e->expires_at ? *e->expires_at - now : 0;
  c.out << "ref:        " << ref << '\n'
        << "namespace:  " << e->ns << '\n'
        << "key:        " << (r.binding ? r.binding->key : "-") << '\n'
        << "owner:      " << owner_of(*e) << '\n'
        << "size:       " << human_bytes(static_cast<double>(value_bytes(*e))) << '\n'
        << "created_at: " << json::serialize(json::value(e->created_at)) << '\n'
        << "expires_at: "
        << (e->expires_at ? json::serialize(json::value(*e->expires_at)) : std::string("never"))
        << '\n'
        << "ttl:        " << human_ttl(e->expires_at ? &left : nullptr) << '\n'
        << "policy:     " << json::serialize(to_json(e->policy)) << '\n'
        << "metadata:   " << json::serialize(metadata_object(*e)) << '\n'
        << "value:      " << json::serialize(e->value) << '\n';
  return 0;
}

int run_rm(Backend& b, const CommandContext& c) {
  const std::string& ref = c.cl.args[0];
  if (!b.remove(ref)) {
    c.err << "refcache: unknown ref '" << ref << "' (nothing removed)\n";
    return 1;
  }
  if (c.cl.json)
    c.out << R"({"removed":)" << json::serialize(json::value(ref)) << "}\n";
  else
    c.out << "removed " << ref << '\n';
  return 0;
}

int run_clear(Backend& b, const CommandContext& c) {
  const std::string& ns = c.cl.args[0];
  std::size_t n = b.clear(std::string_view(ns));
  if (c.cl.json)
    c.out << R"({"namespace":)" << json::serialize(json::value(ns)) << R"(,"removed":)" << n
          << "}\n";
  else
    c.out << "removed " << n << " entries of namespace " << ns << '\n';
  return 0;
}

int run_stats(Backend& b, const CommandContext& c) {
  struct Totals {
    std::uint64_t entries = 0, bytes = 0;
  };
  std::map<std::string, Totals> per_ns;
  Totals all;
  for (const auto& id : b.keys()) {
    EntryPtr e = b.get(id);
    if (!e) continue;
    auto n = value_bytes(*e);
    per_ns[e->ns].entries += 1;
    per_ns[e->ns].bytes += n;
    all.entries += 1;
    all.bytes += n;
  }
  if (c.cl.json) {
    json::object top;
    top["backend"] = b.kind();
    top["entries"] = all.entries;
    top["bytes"] = all.bytes;
    json::object nss;
    for (const auto& [ns, t] : per_ns)
      nss[ns] = json::object{{"entries", t.entries}, {"bytes", t.bytes}};
    top["namespaces"] = std::move(nss);
    c.out << json::serialize(top) << '\n';
    return 0;
  }
  Table t({"NAMESPACE", "ENTRIES", "BYTES"});
  for (const auto& [ns, tot] : per_ns)
    t.add_row({ns, std::to_string(tot.entries), human_bytes(static_cast<double>(tot.bytes))});
  t.add_row({"(all)", std::to_string(all.entries), human_bytes(static_cast<double>(all.bytes))});
  c.out << "backend: " << b.kind() << '\n';
  t.print(c.out);
  return 0;
}

}  // namespace refcache::admin
