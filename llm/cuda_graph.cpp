#include "llm/cuda_graph.h"

#include <stdexcept>

#ifdef VIGIL_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#endif

namespace vigil::llm {

#ifdef VIGIL_WITH_CUDA

struct CudaGraph::Impl {
  at::cuda::CUDAGraph graph;
};

bool CudaGraph::available() {
  return true;
}

CudaGraph::CudaGraph(const std::function<void()>& work, const std::function<void()>& reset)
    : impl_(std::make_unique<Impl>()) {
  const at::cuda::CUDAStream caller = at::cuda::getCurrentCUDAStream();
  const at::cuda::CUDAStream side = at::cuda::getStreamFromPool();
  at::cuda::CUDAEvent queued;  // the side stream starts after the caller's queued work
  queued.record(caller);
  queued.block(side);
  {
    const c10::cuda::CUDAStreamGuard guard(side);
    for (int i = 0; i < 2; ++i) work();
    reset();
    impl_->graph.capture_begin();
    work();
    impl_->graph.capture_end();
  }
  at::cuda::CUDAEvent captured;  // and the caller resumes after the warm-up
  captured.record(side);
  captured.block(caller);
}

CudaGraph::~CudaGraph() = default;

void CudaGraph::replay() {
  impl_->graph.replay();
}

#else

struct CudaGraph::Impl {};

bool CudaGraph::available() {
  return false;
}

CudaGraph::CudaGraph(const std::function<void()>&, const std::function<void()>&) {
  throw std::runtime_error("CUDA graphs need a CUDA build (cmake -DVIGIL_ENABLE_CUDA=ON)");
}

CudaGraph::~CudaGraph() = default;

void CudaGraph::replay() {}

#endif

}  // namespace vigil::llm
