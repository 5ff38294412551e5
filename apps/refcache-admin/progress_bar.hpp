// ProgressBar: "[#####-----] 120/1000 35/s ETA 25s" on stderr, redrawn in place.
//
// Contract: drawn only when enabled (by default when stderr is a terminal), so it never
// mixes into stdout (which may carry --json or an export) nor into a redirected stderr.
// Redraws at most ten times a second; finish() draws the final state and ends the line.
// A total of 0 means unknown: the bar shows the count and rate without ETA.
// Thread-safety: none; one thread drives a bar.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace refcache::admin {

class ProgressBar {
 public:
  // `label` precedes the bar; `force` overrides the terminal test (nullopt: isatty(2)).
  ProgressBar(std::string label, std::size_t total, std::optional<bool> force);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Records `n` more items done.
  void advance(std::size_t n = 1);
  void finish();

 private:
  void draw();

  std::string label_;
  std::size_t total_;
  std::size_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace refcache::admin
