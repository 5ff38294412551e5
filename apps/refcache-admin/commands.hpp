// The commands of the refcache CLI, one function each; docs/admin-cli.md describes them.
//
// Contract: each command writes its result on `out` (a table, or JSON with --json), notes on
// `err`, and returns the process exit code: 0 done, 1 the operation failed or (check) damage
// was found. Backend errors propagate as exceptions; main() prints them masked and exits 1.
// The CLI acts as an administrator of the store it is given: no access policy is checked.
// Thread-safety: a command runs on the calling thread only.
#pragma once

#include <iosfwd>
#include <memory>

#include "command_line.hpp"
#include "refcache/backend.hpp"
#include "url_mask.hpp"

namespace refcache::admin {

// What every command is given.
struct CommandContext {
  const CommandLine& cl;
  const SecretMask& mask;
  std::ostream& out;
  std::ostream& err;
};

// Opens the backend of `url`; errors propagate (masked by main()).
std::shared_ptr<Backend> open_store(const std::string& url);

int run_ls(Backend& b, const CommandContext& c);
int run_show(Backend& b, const CommandContext& c);
int run_rm(Backend& b, const CommandContext& c);
int run_clear(Backend& b, const CommandContext& c);
int run_stats(Backend& b, const CommandContext& c);
int run_export(Backend& b, const CommandContext& c);
int run_import(Backend& b, const CommandContext& c);
// Opens --from and --to itself.
int run_migrate(const CommandContext& c);
int run_check(Backend& b, const CommandContext& c);

}  // namespace refcache::admin
