// Sentinel: one real redis-server --sentinel on a free loopback port, for tests. It monitors
// a primary as "mymaster" (quorum 2, down after 1 s, failover timeout 10 s) with its own
// temporary directory; the destructor stops it (SIGTERM, waiting for it) and deletes the
// directory. The constructor returns once it answers PING (bounded: 10 s), else throws.
//
// Thread-safety: one thread owns an instance; cmd() opens a connection of its own per call.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"  // same directory

namespace refcache::testing {

// One redis-server --sentinel monitoring `primary_port` as "mymaster" (quorum 2).
class Sentinel {
 public:
  Sentinel(int primary_port, const std::string& password) {
    dir_ = make_temp_dir("sentinel");
    port_ = free_loopback_port();
    {
      std::ofstream conf(dir_ / "sentinel.conf");
      conf << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir_.string() << "\nlogfile "
           << (dir_ / "sentinel.log").string() << "\nsentinel monitor mymaster 127.0.0.1 "
           << primary_port << " 2\nsentinel auth-pass mymaster " << password
           << "\nsentinel down-after-milliseconds mymaster 1000\n"
           << "sentinel failover-timeout mymaster 10000\n"
           << "sentinel parallel-syncs mymaster 1\n";
    }
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      std::string conf = (dir_ / "sentinel.conf").string();
      ::execl("/usr/bin/redis-server", "redis-server", conf.c_str(), "--sentinel",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        if (RawRedis(port_, "").cmd({"PING"}) == "PONG") return;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("sentinel did not start");
  }
  ~Sentinel() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Sentinel(const Sentinel&) = delete;
  Sentinel& operator=(const Sentinel&) = delete;
  int port() const { return port_; }
  std::string cmd(const std::vector<std::string>& args) { return RawRedis(port_, "").cmd(args); }

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace refcache::testing
