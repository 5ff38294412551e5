// Helpers shared by the Redis benchmarks (B1 on one server and on a cluster): CPU time of a
// process and of ourselves, and running redis-benchmark for its SET/GET figures.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>

namespace bench {

// CPU seconds used so far by process `pid` (user + system), from /proc.
inline double proc_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i)
    if (i == 14 || i == 15) ticks += std::atof(f.c_str());
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// CPU seconds (user + system) of RUSAGE_SELF or RUSAGE_CHILDREN.
inline double rusage_seconds(int who) {
  rusage u{};
  ::getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Runs `command` (a redis-benchmark invocation with -q --csv) and returns its SET and GET
// requests per second; 0 for a figure it did not print (its output then goes to stderr).
inline std::pair<double, double> redis_benchmark_set_get(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return {0, 0};
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  double set = 0, get = 0;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    // "SET","80000.00",...
    auto rps_of = [](const std::string& l) {
      auto a = l.find("\",\"");
      if (a == std::string::npos) return 0.0;
      return std::atof(l.c_str() + a + 3);
    };
    if (line.rfind("\"SET\"", 0) == 0) set = rps_of(line);
    if (line.rfind("\"GET\"", 0) == 0) get = rps_of(line);
  }
  if (set == 0 || get == 0) std::cerr << "redis-benchmark output:\n" << out;
  return {set, get};
}

}  // namespace bench
