// The std::terminate report (service/terminate_report.h): a process that terminates says why
// on stderr, as one JSON line, before it aborts.
#include "service/terminate_report.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace vigil::service {
namespace {

TEST(TerminateReportDeathTest, AJoinableThreadDestroyedIsReported) {
  EXPECT_DEATH(
      {
        install_terminate_report();
        std::thread running([] { std::this_thread::sleep_for(std::chrono::seconds(5)); });
        // Destroyed while joinable: std::terminate.
      },
      "\"event\":\"process.terminate\",\"exception\":\"none \\(a joinable std::thread");
}

TEST(TerminateReportDeathTest, AnUncaughtExceptionIsNamed) {
  EXPECT_DEATH(
      {
        install_terminate_report();
        std::thread thrower([] { throw std::runtime_error("disk \"full\"\nreally"); });
        thrower.join();
      },
      "\"exception\":\"disk \\\\\"full\\\\\"\\\\u000areally\"");
}

}  // namespace
}  // namespace vigil::service
