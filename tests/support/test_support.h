// Helpers shared by the test suites: temporary folders, shell commands, background
// processes (ffmpeg as a live source, an RTSP server), free ports and the sample videos that
// Debian's opencv-doc and python3-imageio packages ship.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::testing {

// A fresh folder under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  // the shell's exit status
  std::string output;  // standard output (standard error goes to the test log)
};

// Runs a shell command and waits for it.
CommandResult run_command(const std::string& shell_command);

// Single-quotes text for /bin/sh.
std::string shell_quote(const std::string& text);

// A shell command running in its own process group, killed (SIGKILL to the group) on
// destruction or stop().
class BackgroundProcess {
 public:
  explicit BackgroundProcess(const std::string& shell_command);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  void stop();     // kills and reaps
  void pause();    // SIGSTOP to the group: a stalled source
  bool running();  // not yet exited

 private:
  pid_t pid_ = -1;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_tcp_port();
// Waits until something listens on 127.0.0.1:port; false after timeout_ms.
bool wait_for_tcp_port(int port, int timeout_ms);

// Paths of the real sample videos (GTEST_SKIP when a package is missing is the caller's call).
std::string opencv_sample(const std::string& name);   // e.g. "vtest.avi"
std::string imageio_sample(const std::string& name);  // e.g. "cockatoo.mp4"
bool file_exists(const std::string& path);
std::vector<uint8_t> read_file(const std::string& path);

}  // namespace vigil::testing
