#include "progress_bar.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace refcache::admin {

ProgressBar::ProgressBar(std::string label, std::size_t total, std::optional<bool> force)
    : label_(std::move(label)),
      total_(total),
      enabled_(force.value_or(::isatty(STDERR_FILENO) == 1)),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::advance(std::size_t n) {
  done_ += n;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw();
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  draw();
  (void)std::fputc('\n', stderr);
  (void)std::fflush(stderr);
}

void ProgressBar::draw() {
  constexpr int kWidth = 30;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  std::string bar;
  if (total_ > 0) {
    auto filled = static_cast<int>(kWidth * static_cast<double>(std::min(done_, total_)) /
                                   static_cast<double>(total_));
    bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
          std::string(static_cast<std::size_t>(kWidth - filled), '-') + "] ";
  }
  char tail[96];
  if (total_ > 0 && rate > 0 && done_ < total_) {
    double eta = static_cast<double>(total_ - done_) / rate;
    (void)std::snprintf(tail, sizeof tail, "%zu/%zu %.0f/s ETA %.0fs", done_, total_, rate, eta);
  } else if (total_ > 0) {
    (void)std::snprintf(tail, sizeof tail, "%zu/%zu %.0f/s", done_, total_, rate);
  } else {
    (void)std::snprintf(tail, sizeof tail, "%zu %.0f/s", done_, rate);
  }
  (void)std::fprintf(stderr, "\r%s %s%s\x1b[K", label_.c_str(), bar.c_str(), tail);
  (void)std::fflush(stderr);
}

}  // namespace refcache::admin
