// A CUDA stream of one's own for a sequence of device work (a video session's ingestion and
// answers), so that work of different sessions neither waits for each other at a
// synchronising call (a copy to the host, .item()) nor runs in one queue. A session's work
// stays in order on its stream; what crosses to another stream must be synchronised first
// (DecodeBatcher does). On a CPU device, or a build without CUDA, everything is a no-op.
#pragma once

#include <torch/torch.h>

#include <memory>

namespace vigil::llm {

class DeviceStream {
 public:
  explicit DeviceStream(torch::Device device);
  ~DeviceStream();
  DeviceStream(const DeviceStream&) = delete;
  DeviceStream& operator=(const DeviceStream&) = delete;

  // Makes the stream current on this thread for the guard's lifetime.
  class Guard {
   public:
    explicit Guard(const DeviceStream& stream);
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
  };

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // null without CUDA or on the CPU
};

// Blocks until the work queued so far on this thread's current stream of `device` is done.
void synchronize_current_stream(torch::Device device);

}  // namespace vigil::llm
