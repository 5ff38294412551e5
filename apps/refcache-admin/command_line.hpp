// CommandLine: the parsed arguments of `refcache [--backend URL] [--json] COMMAND ...`.
//
// Contract: parse_command_line() never exits; it throws UsageError (exit code 2) for an
// unknown option or command, a missing or surplus argument. The backend URL comes from
// --backend, else the REFCACHE_BACKEND environment variable, else stays empty (the servers'
// default store, see open_backend()).
// Thread-safety: pure functions over their arguments (and the environment when parsing).
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace refcache::admin {

// A malformed command line; main() prints it with the synopsis and exits with 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CommandLine {
  // Backend URL (--backend or REFCACHE_BACKEND); empty selects the default store.
  std::string backend{};
  // --json: machine-readable output on stdout instead of tables.
  bool json{};
  // The command: ls, show, rm, clear, stats, export, import, migrate, check, help.
  std::string command{};
  // The command's positional arguments (already checked in number).
  std::vector<std::string> args{};
  // ls --limit: rows printed at most.
  std::size_t limit{100};
  // migrate --from / --to.
  std::string from{};
  std::string to{};
  // check --repair.
  bool repair{};
  // --progress / --no-progress: force the progress bar on or off (default: when stderr is a
  // terminal).
  std::optional<bool> progress{};
};

// Parses argv (without argv[0]).
CommandLine parse_command_line(const std::vector<std::string>& argv);

// The synopsis and command list printed by `refcache help` and on usage errors.
const char* usage_text();

}  // namespace refcache::admin
