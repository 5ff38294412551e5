// export, import, migrate: moving entries between stores and JSON Lines files.
#include <boost/json/serialize.hpp>
#include <fstream>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "entry_lines.hpp"
#include "progress_bar.hpp"
#include "url_mask.hpp"

namespace refcache::admin {

namespace json = boost::json;

namespace {

bool uses_stdio(const CommandContext& c) {
  return c.cl.args.empty() || c.cl.args[0] == "-";
}

// The result line: JSON on stdout when it is free (not carrying the entries), else text on
// stderr (stdout carries the entries) or stdout.
void report(const CommandContext& c, const json::object& result, const std::string& text) {
  if (c.cl.json && !(c.cl.command == "export" && uses_stdio(c)))
    c.out << json::serialize(result) << '\n';
  else if (c.cl.command == "export" && uses_stdio(c))
    c.err << text << '\n';
  else
    c.out << text << '\n';
}

// What a migration did.
struct CopyCounts {
  std::size_t copied = 0, skipped = 0;
};

}  // namespace

int run_export(Backend& b, const CommandContext& c) {
  std::unique_ptr<std::ofstream> file;
  std::ostream* out = &c.out;
  if (!uses_stdio(c)) {
    file = std::make_unique<std::ofstream>(c.cl.args[0], std::ios::binary | std::ios::trunc);
    if (!*file) {
      c.err << "refcache: cannot write " << c.cl.args[0] << '\n';
      return 1;
    }
    out = file.get();
  }
  std::vector<std::string> ids = b.keys();
  ProgressBar bar("export", ids.size(), c.cl.progress);
  std::size_t written = 0;
  for (const auto& id : ids) {
    EntryPtr e = b.get(id);
    bar.advance();
    if (!e) continue;  // expired or removed since the listing
    *out << format_entry_line(EntryRecord{id, b.binding_of(id), *e}, unix_now()) << '\n';
    ++written;
  }
  out->flush();
  bar.finish();
  if (!*out) {
    c.err << "refcache: writing the export failed\n";
    return 1;
  }
  report(c, json::object{{"exported", written}},
         "exported " + std::to_string(written) + " entries");
  return 0;
}

int run_import(Backend& b, const CommandContext& c) {
  std::unique_ptr<std::ifstream> file;
  std::istream* in = &std::cin;
  std::size_t total = 0;
  if (!uses_stdio(c)) {
    file = std::make_unique<std::ifstream>(c.cl.args[0], std::ios::binary);
    if (!*file) {
      c.err << "refcache: cannot read " << c.cl.args[0] << '\n';
      return 1;
    }
    // A first pass counts the lines, for the progress bar's ETA.
    std::string line;
    while (std::getline(*file, line)) ++total;
    file->clear();
    file->seekg(0);
    in = file.get();
  }
  ProgressBar bar("import", total, c.cl.progress);
  std::size_t imported = 0, expired = 0, failed = 0, number = 0;
  std::string line;
  while (std::getline(*in, line)) {
    ++number;
    bar.advance();
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const double now = unix_now();
    EntryRecord r;
    try {
      r = parse_entry_line(line, now);
    } catch (const std::exception& ex) {
      c.err << "refcache: line " << number << ": " << ex.what() << '\n';
      ++failed;
      continue;
    }
    if (r.entry.is_expired(now)) {
      ++expired;
      continue;
    }
    b.set(r.ref_id, std::make_shared<const CacheEntry>(std::move(r.entry)),
          r.binding ? &*r.binding : nullptr);
    ++imported;
  }
  bar.finish();
  report(c, json::object{{"imported", imported}, {"expired", expired}, {"failed", failed}},
         "imported " + std::to_string(imported) + " entries (" + std::to_string(expired) +
             " expired, " + std::to_string(failed) + " bad lines)");
  return failed == 0 ? 0 : 1;
}

int run_migrate(const CommandContext& c) {
  std::shared_ptr<Backend> from = open_store(c.cl.from);
  std::shared_ptr<Backend> to = open_store(c.cl.to);
  // The entries listed when the migration starts; those stored into the source after the
  // listing are not copied.
  std::vector<std::string> ids = from->keys();
  ProgressBar bar("migrate", ids.size(), c.cl.progress);
  CopyCounts n;
  for (const auto& id : ids) {
    bar.advance();
    EntryPtr e = from->get(id);
    if (!e) {
      ++n.skipped;  // expired or removed since the listing
      continue;
    }
    std::optional<KeyBinding> binding = from->binding_of(id);
    // The absolute expiry is kept, so the TTL left in the target is never larger than the
    // source's.
    to->set(id, e, binding ? &*binding : nullptr);
    ++n.copied;
  }
  bar.finish();
  report(c, json::object{{"copied", n.copied}, {"skipped", n.skipped}},
         "copied " + std::to_string(n.copied) + " entries from " + mask_url(c.cl.from) + " to " +
             mask_url(c.cl.to) + " (" + std::to_string(n.skipped) +
             " expired or removed meanwhile)");
  return 0;
}

}  // namespace refcache::admin
