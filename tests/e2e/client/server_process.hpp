// A server run as a child process for one end-to-end test of the client: its stdout and
// stderr go to one pipe, read to the end by a thread (so that its logging never blocks it);
// url() waits (bounded) for the first line `pattern` matches, whose group 1 is the URL, or
// what `url_of` turns into the URL (a port); output() is what it printed (the last 64 KiB), for
// a failing test's message. The destructor ends it (SIGTERM, then SIGKILL) and reaps it;
// kill_now() ends it at once (SIGKILL).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace client_e2e {

class ServerProcess {
 public:
  // argv[0] is a path; `env` ("NAME=value") adds to this process's environment.
  ServerProcess(std::vector<std::string> argv, std::vector<std::string> env, std::string pattern,
                std::function<std::string(const std::string&)> url_of = {})
      : pattern_(std::move(pattern)), url_of_(std::move(url_of)) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; e && *e; ++e) env_s.emplace_back(*e);
    for (auto& e : env) env_s.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(p[1]);
    if (rc != 0) {
      ::close(p[0]);
      throw std::runtime_error("cannot start " + argv[0]);
    }
    fd_ = p[0];
    reader_ = std::thread([this] { read_loop(); });
  }
  ~ServerProcess() {
    stop(SIGTERM);
    if (reader_.joinable()) reader_.join();
    ::close(fd_);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // The server's URL once it listens ("" if it did not within `timeout`, or exited).
  std::string url(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, timeout, [&] { return !url_.empty() || ended_; });
    return url_;
  }
  // What the server printed so far (its last 64 KiB).
  std::string output() {
    std::lock_guard lk(mu_);
    return output_;
  }
  // Ends the server at once (SIGKILL) and reaps it.
  void kill_now() { stop(SIGKILL); }

 private:
  void stop(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    for (int i = 0; i < 300; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void read_loop() {
    std::string buf;
    char chunk[4096];
    const std::regex re(pattern_);
    for (;;) {
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard lk(mu_);
      output_.append(chunk, static_cast<std::size_t>(n));
      if (output_.size() > kOutputKept) output_.erase(0, output_.size() - kOutputKept);
      if (!url_.empty()) continue;
      buf.append(chunk, static_cast<std::size_t>(n));
      for (auto nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n')) {
        const std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        std::smatch m;
        if (url_.empty() && std::regex_search(line, m, re)) {
          url_ = url_of_ ? url_of_(m[1].str()) : m[1].str();
          cv_.notify_all();
        }
      }
    }
    std::lock_guard lk(mu_);
    ended_ = true;
    cv_.notify_all();
  }

  static constexpr std::size_t kOutputKept = 64 * 1024;
  std::string pattern_;
  std::function<std::string(const std::string&)> url_of_;
  pid_t pid_ = -1;
  int fd_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string url_;
  std::string output_;
  bool ended_ = false;
};

}  // namespace client_e2e
