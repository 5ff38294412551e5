// CalculatorLoad: a running refcache-calculator (stdio transport) on a given backend URL,
// fed tools/call requests by a thread as fast as it takes them, so that it keeps storing new
// entries into that backend until stop(). Its output goes to /dev/null (the test reads the
// store, not the answers).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace refcache::testing {

class CalculatorLoad {
 public:
  explicit CalculatorLoad(const std::string& backend_url) {
    ::signal(SIGPIPE, SIG_IGN);  // a write after the calculator exits is an error, not death
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(fds[0], 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::close(fds[0]);
      ::close(fds[1]);
      // No quotas: the load deletes nothing, every entry it stores stays.
      std::vector<std::string> args{
          REFCACHE_CALCULATOR_PATH, "--backend", backend_url,     "--ttl", "3600",
          "--quota-entries",        "0",         "--quota-bytes", "0"};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[0]);
    in_ = fds[1];
    send(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":)"
         R"("2025-06-18","capabilities":{},"clientInfo":{"name":"load","version":"1"}}})");
    send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    feeder_ = std::thread([this] {
      for (long i = 1; !stop_.load() && i < 1000000; ++i) {
        // A distinct call each time: a new cached entry each time.
        if (!send(R"({"jsonrpc":"2.0","id":)" + std::to_string(i) +
                  R"(,"method":"tools/call","params":{"name":"generate_sequence","arguments":)"
                  R"({"sequence_type":"arithmetic","count":5,"start":)" +
                  std::to_string(i) + "}}}"))
          break;
        sent_.store(i);
      }
    });
  }
  ~CalculatorLoad() { stop(); }
  CalculatorLoad(const CalculatorLoad&) = delete;
  CalculatorLoad& operator=(const CalculatorLoad&) = delete;

  long sent() const { return sent_.load(); }

  void stop() {
    if (pid_ <= 0) return;
    stop_.store(true);
    ::kill(pid_, SIGTERM);
    if (feeder_.joinable()) feeder_.join();
    ::close(in_);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  bool send(const std::string& line) {
    std::string l = line + "\n";
    std::size_t off = 0;
    while (off < l.size()) {
      ssize_t n = ::write(in_, l.data() + off, l.size() - off);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  pid_t pid_ = -1;
  int in_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<long> sent_{0};
  std::thread feeder_;
};

}  // namespace refcache::testing
