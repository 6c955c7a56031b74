// Copies between host RAM and the GPU on their own CUDA stream, so that moving blocks between
// tiers overlaps the model's compute (ReKV loads on a side stream with events). In a build
// without CUDA (VIGIL_WITH_CUDA undefined, e.g. Debian's CPU libtorch 1.13) or for a CPU
// device every copy is a plain synchronous copy and the joins do nothing.
#pragma once

#include <torch/torch.h>

#include <memory>

namespace vigil::memory {

// Not thread-safe: one tier manager issues its copies from one thread.
class CopyStream {
 public:
  // device: the model's device (the GPU side of every copy).
  explicit CopyStream(torch::Device device);
  ~CopyStream();
  CopyStream(const CopyStream&) = delete;
  CopyStream& operator=(const CopyStream&) = delete;

  torch::Device device() const { return device_; }
  // Whether copies are asynchronous on a side stream (CUDA device in a CUDA build).
  bool asynchronous() const;
  // Whether host tensors should be pinned (a CUDA device).
  bool pins_host_memory() const { return device_.is_cuda(); }

  // Starts copying a host tensor (pinned for overlap) to the device on the copy stream. The
  // result may be used on the compute stream after join_compute().
  torch::Tensor to_device(const torch::Tensor& host);
  // Starts copying a tensor (made on the compute stream) into new host memory, pinned when
  // pins_host_memory(); the copy waits for the compute stream's work so far. The result may be
  // read by the host after synchronize(); later copies on this stream see it without that.
  torch::Tensor to_host(const torch::Tensor& tensor);
  // Makes the caller's current (compute) stream wait for the copies issued so far, without
  // blocking the host.
  void join_compute();
  // Blocks the host until the copies issued so far are done.
  void synchronize();

 private:
  struct Cuda;
  torch::Device device_;
  std::unique_ptr<Cuda> cuda_;  // null without CUDA
};

}  // namespace vigil::memory
