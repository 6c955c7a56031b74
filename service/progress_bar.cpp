#include "service/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace vigil::service {

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (!enabled_ || !drawn_) return;
  draw(last_done_);
  std::fputc('\n', stderr);
}

void ProgressBar::update(int64_t done) {
  last_done_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && done != total_) return;
  last_draw_ = now;
  draw(done);
}

void ProgressBar::draw(int64_t done) {
  drawn_ = true;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  if (total_ <= 0) {
    std::fprintf(stderr, "\r%s %lld frames  %.1f frames/s", label_.c_str(),
                 static_cast<long long>(done), rate);
  } else {
    constexpr int kWidth = 30;
    const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.append(static_cast<size_t>(kWidth - filled), '.');
    std::fprintf(stderr, "\r%s [%s] %lld/%lld  %.1f frames/s", label_.c_str(), bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), rate);
  }
  std::fflush(stderr);
}

}  // namespace vigil::service
