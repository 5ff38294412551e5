// CliRun: runs a program (the refcache CLI, the calculator) as a child process for the admin
// CLI tests, with its stdin from a file or /dev/null and its stdout and stderr captured in
// files, waiting a bounded time for it to exit.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "integration/redis_server.hpp"

namespace refcache::testing {

struct CliResult {
  int rc = -1;  // exit code; -signal when killed; -1000 on timeout
  std::string out;
  std::string err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `program args...` with extra environment `env` ("NAME=value"; "NAME=" unsets NAME)
// and stdin from `stdin_file` (empty: /dev/null). With `stderr_tty`, stderr is a pseudo-
// terminal (what the program writes there is still captured).
inline CliResult run_program(const std::string& program, const std::vector<std::string>& args,
                             const std::vector<std::string>& env = {},
                             const std::string& stdin_file = {},
                             std::chrono::seconds timeout = std::chrono::seconds(60),
                             bool stderr_tty = false) {
  int master = -1;
  std::string slave_name;
  if (stderr_tty) {
    master = ::posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0)
      throw std::runtime_error("no pseudo-terminal");
    slave_name = ::ptsname(master);
    ::fcntl(master, F_SETFL, O_NONBLOCK);
  }
  static int counter = 0;
  auto dir = std::filesystem::temp_directory_path();
  std::string tag = std::to_string(::getpid()) + "-" + std::to_string(++counter);
  auto out_path = dir / ("refcache-cli-out-" + tag);
  auto err_path = dir / ("refcache-cli-err-" + tag);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int in = ::open(stdin_file.empty() ? "/dev/null" : stdin_file.c_str(), O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = stderr_tty ? ::open(slave_name.c_str(), O_WRONLY | O_NOCTTY)
                         : ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    for (const auto& e : env) {
      auto eq = e.find('=');
      std::string name = e.substr(0, eq), value = e.substr(eq + 1);
      if (value.empty())
        ::unsetenv(name.c_str());
      else
        ::setenv(name.c_str(), value.c_str(), 1);
    }
    std::vector<std::string> all{program};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  CliResult r;
  std::string tty_text;
  auto drain_tty = [&] {
    char buf[4096];
    for (ssize_t n; master >= 0 && (n = ::read(master, buf, sizeof buf)) > 0;)
      tty_text.append(buf, static_cast<std::size_t>(n));
  };
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    drain_tty();
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      r.rc = -1000;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  drain_tty();
  if (master >= 0) ::close(master);
  r.out = slurp(out_path);
  r.err = stderr_tty ? tty_text : slurp(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return r;
}

// The refcache CLI with `args`; REFCACHE_BACKEND is unset unless `env` sets it.
inline CliResult refcache_cli(std::vector<std::string> args, std::vector<std::string> env = {},
                              const std::string& stdin_file = {}, bool stderr_tty = false) {
  env.insert(env.begin(), "REFCACHE_BACKEND=");
  return run_program(REFCACHE_CLI_PATH, args, env, stdin_file, std::chrono::seconds(60),
                     stderr_tty);
}

}  // namespace refcache::testing
