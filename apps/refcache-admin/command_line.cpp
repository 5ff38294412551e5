#include "command_line.hpp"

#include <cstdlib>

namespace refcache::admin {

namespace {

// Positional arguments each command takes: minimum and maximum.
struct Arity {
  std::size_t min;
  std::size_t max;
};

Arity arity_of(const std::string& command) {
  if (command == "ls") return {0, 1};
  if (command == "show" || command == "rm" || command == "clear") return {1, 1};
  if (command == "export" || command == "import") return {0, 1};
  if (command == "stats" || command == "migrate" || command == "check" || command == "help")
    return {0, 0};
  throw UsageError("unknown command '" + command + "'");
}

std::size_t parse_limit(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 9)
    throw UsageError("--limit expects a positive integer, got '" + text + "'");
  std::size_t n = std::stoul(text);
  if (n == 0) throw UsageError("--limit expects a positive integer, got '0'");
  return n;
}

}  // namespace

CommandLine parse_command_line(const std::vector<std::string>& argv) {
  CommandLine cl;
  bool backend_given = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    // "--name value" or "--name=value".
    auto value_of = [&](const std::string& name) -> std::optional<std::string> {
      if (a == name) {
        if (i + 1 >= argv.size()) throw UsageError(name + " expects a value");
        return argv[++i];
      }
      if (a.rfind(name + "=", 0) == 0) return a.substr(name.size() + 1);
      return std::nullopt;
    };
    if (auto v = value_of("--backend")) {
      cl.backend = *v;
      backend_given = true;
    } else if (auto l = value_of("--limit")) {
      cl.limit = parse_limit(*l);
    } else if (auto f = value_of("--from")) {
      cl.from = *f;
    } else if (auto t = value_of("--to")) {
      cl.to = *t;
    } else if (a == "--json") {
      cl.json = true;
    } else if (a == "--repair") {
      cl.repair = true;
    } else if (a == "--progress") {
      cl.progress = true;
    } else if (a == "--no-progress") {
      cl.progress = false;
    } else if (a == "-h" || a == "--help") {
      cl.command = "help";
    } else if (a == "-") {
      if (cl.command.empty()) throw UsageError("'-' is not a command");
      cl.args.push_back(a);
    } else if (a.rfind('-', 0) == 0) {
      throw UsageError("unknown option '" + a + "'");
    } else if (cl.command.empty()) {
      cl.command = a;
    } else {
      cl.args.push_back(a);
    }
  }
  if (cl.command.empty()) throw UsageError("no command given");
  if (cl.command == "help") {
    cl.args.clear();
    return cl;
  }
  Arity ar = arity_of(cl.command);
  if (cl.args.size() < ar.min)
    throw UsageError("'" + cl.command + "' expects an argument (see refcache help)");
  if (cl.args.size() > ar.max) throw UsageError("too many arguments for '" + cl.command + "'");
  if (cl.command == "migrate" && (cl.from.empty() || cl.to.empty()))
    throw UsageError("migrate expects --from URL and --to URL");
  if (cl.command != "migrate" && (!cl.from.empty() || !cl.to.empty()))
    throw UsageError("--from and --to belong to migrate");
  if (cl.repair && cl.command != "check") throw UsageError("--repair belongs to check");
  if (!backend_given) {
    const char* env = std::getenv("REFCACHE_BACKEND");
    if (env != nullptr) cl.backend = env;
  }
  return cl;
}

const char* usage_text() {
  return "usage: refcache [--backend URL] [--json] COMMAND [ARGS]\n"
         "  URL: sqlite:PATH, redis://, rediss://, redis+sentinel://, redis+cluster://\n"
         "       (default: $REFCACHE_BACKEND, else the servers' default store)\n"
         "commands:\n"
         "  ls [NAMESPACE] [--limit N]   entries sorted by ref id (default limit 100)\n"
         "  show REF                     one entry's metadata and value\n"
         "  rm REF                       delete one entry\n"
         "  clear NAMESPACE              delete every entry of a namespace\n"
         "  stats                        entries and bytes, per namespace\n"
         "  export [FILE]                entries as JSON Lines (stdout without FILE)\n"
         "  import [FILE]                entries from JSON Lines (stdin without FILE)\n"
         "  migrate --from URL --to URL  copy every entry with its policy and remaining TTL\n"
         "  check [--repair]             find (and delete) damaged records\n"
         "  help                         this text\n"
         "options: --progress / --no-progress (bar on stderr; default: when it is a terminal)\n"
         "exit codes: 0 ok, 1 failed or damage found, 2 usage error\n";
}

}  // namespace refcache::admin
