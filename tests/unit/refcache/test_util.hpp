// Helpers shared by the refcache unit tests.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <string_view>

#include "jsonio/json_text.hpp"

namespace refcache_test {

inline boost::json::value J(std::string_view text) {
  return jsonio::parse_or_throw(text);
}

inline boost::json::value range(int n, int start = 0) {
  boost::json::array a;
  for (int i = start; i < start + n; ++i) a.push_back(i);
  return a;
}

// A clock the tests move by hand.
inline std::atomic<double> g_fake_now{1'700'000'000.0};
inline double fake_now() {
  return g_fake_now.load();
}
inline void advance(double seconds) {
  g_fake_now.store(g_fake_now.load() + seconds);
}

}  // namespace refcache_test
