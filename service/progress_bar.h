// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vigil::service {

class ProgressBar {
 public:
  // total <= 0: unknown (live), shows a count instead of a bar.
  ProgressBar(std::string label, int64_t total);
  ~ProgressBar();
  void update(int64_t done);  // redraws at most ten times a second

 private:
  void draw(int64_t done);
  std::string label_;
  int64_t total_;
  bool enabled_;
  bool drawn_ = false;
  int64_t last_done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace vigil::service
