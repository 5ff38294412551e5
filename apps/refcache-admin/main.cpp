// refcache: the administration CLI of a refcache store (docs/admin-cli.md).
//
// Exit codes: 0 done, 1 the operation failed (or check found damage, or the ref is unknown),
// 2 usage error. Every message goes through the run's SecretMask, so no password of a URL
// given on the command line or in REFCACHE_BACKEND is ever printed.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "commands.hpp"
#include "url_mask.hpp"

namespace {

int dispatch(const refcache::admin::CommandContext& c) {
  using namespace refcache::admin;
  const std::string& cmd = c.cl.command;
  if (cmd == "help") {
    c.out << usage_text();
    return 0;
  }
  if (cmd == "migrate") return run_migrate(c);
  std::shared_ptr<refcache::Backend> b = open_store(c.cl.backend);
  if (cmd == "ls") return run_ls(*b, c);
  if (cmd == "show") return run_show(*b, c);
  if (cmd == "rm") return run_rm(*b, c);
  if (cmd == "clear") return run_clear(*b, c);
  if (cmd == "stats") return run_stats(*b, c);
  if (cmd == "export") return run_export(*b, c);
  if (cmd == "import") return run_import(*b, c);
  return run_check(*b, c);  // the parser admits no other command
}

}  // namespace

int main(int argc, char** argv) {
  using namespace refcache::admin;
  std::vector<std::string> args(argv + 1, argv + argc);
  SecretMask mask;
  // Passwords are collected before parsing, so that even a usage error quoting an argument
  // prints none.
  for (const auto& a : args) {
    std::string_view v = a;
    if (auto eq = v.find('='); v.rfind("--", 0) == 0 && eq != std::string_view::npos)
      v = v.substr(eq + 1);
    mask.add_url(v);
  }
  if (const char* env = std::getenv("REFCACHE_BACKEND")) mask.add_url(env);
  CommandLine cl;
  try {
    cl = parse_command_line(args);
  } catch (const UsageError& e) {
    std::cerr << "refcache: " << mask.apply(e.what()) << '\n' << usage_text();
    return 2;
  }
  std::ios::sync_with_stdio(false);
  CommandContext c{cl, mask, std::cout, std::cerr};
  try {
    int rc = dispatch(c);
    std::cout.flush();
    return rc;
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "refcache: " << mask.apply(e.what()) << '\n';
    return 1;
  }
}
