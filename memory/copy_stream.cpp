#include "memory/copy_stream.h"

#if defined(VIGIL_WITH_CUDA)
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace vigil::memory {

#if defined(VIGIL_WITH_CUDA)
struct CopyStream::Cuda {
  c10::cuda::CUDAStream stream;
};
#else
struct CopyStream::Cuda {};
#endif

CopyStream::CopyStream(torch::Device device) : device_(device) {
#if defined(VIGIL_WITH_CUDA)
  if (device_.is_cuda()) {
    cuda_.reset(new Cuda{c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device_.index())});
  }
#endif
}

CopyStream::~CopyStream() = default;

bool CopyStream::asynchronous() const {
  return cuda_ != nullptr;
}

torch::Tensor CopyStream::to_device(const torch::Tensor& host) {
#if defined(VIGIL_WITH_CUDA)
  if (cuda_) {
    const c10::cuda::CUDAStream compute = c10::cuda::getCurrentCUDAStream(device_.index());
    c10::cuda::CUDAStreamGuard guard(cuda_->stream);
    torch::Tensor result = host.to(device_, /*non_blocking=*/true);
    // Allocated on the copy stream, used on the compute stream: keep the allocator from
    // reusing it before the compute stream is done with it.
    c10::cuda::CUDACachingAllocator::recordStream(result.storage().data_ptr(), compute);
    return result;
  }
#endif
  return host.to(device_);
}

torch::Tensor CopyStream::to_host(const torch::Tensor& tensor) {
#if defined(VIGIL_WITH_CUDA)
  if (cuda_ && tensor.is_cuda()) {
    const c10::cuda::CUDAStream compute = c10::cuda::getCurrentCUDAStream(device_.index());
    at::cuda::CUDAEvent produced;
    produced.record(compute);
    produced.block(cuda_->stream);
    c10::cuda::CUDAStreamGuard guard(cuda_->stream);
    torch::Tensor host =
        torch::empty(tensor.sizes(), tensor.options().device(torch::kCPU).pinned_memory(true));
    host.copy_(tensor, /*non_blocking=*/true);
    c10::cuda::CUDACachingAllocator::recordStream(tensor.storage().data_ptr(), cuda_->stream);
    return host;
  }
#endif
  torch::Tensor host = tensor.to(torch::kCPU).contiguous();
  if (pins_host_memory()) host = host.pin_memory();
  return host;
}

void CopyStream::join_compute() {
#if defined(VIGIL_WITH_CUDA)
  if (cuda_) {
    at::cuda::CUDAEvent copied;
    copied.record(cuda_->stream);
    copied.block(c10::cuda::getCurrentCUDAStream(device_.index()));
  }
#endif
}

void CopyStream::synchronize() {
#if defined(VIGIL_WITH_CUDA)
  if (cuda_) cuda_->stream.synchronize();
#endif
}

}  // namespace vigil::memory
