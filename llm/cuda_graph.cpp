#include "llm/cuda_graph.h"

#include <stdexcept>

#ifdef VIGIL_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace vigil::llm {

#ifdef VIGIL_WITH_CUDA

namespace {

// A stream of one capture's own. Streams from libtorch's pool are handed out round-robin to
// every thread (memory/copy_stream.cpp takes one per stream memory): another thread's copies
// enqueued on a stream being captured would land in the graph or fail.
class CaptureStream {
 public:
  CaptureStream() { C10_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~CaptureStream() {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  CaptureStream(const CaptureStream&) = delete;
  CaptureStream& operator=(const CaptureStream&) = delete;
  at::cuda::CUDAStream get() const {
    return c10::cuda::getStreamFromExternal(stream_, c10::cuda::current_device());
  }

 private:
  cudaStream_t stream_ = nullptr;
};

}  // namespace

struct CudaGraph::Impl {
  CaptureStream stream;  // declared first, destroyed last: the graph's blocks name it
  at::cuda::CUDAGraph graph;
};

bool CudaGraph::available() {
  return true;
}

CudaGraph::CudaGraph(const std::function<void()>& work, const std::function<void()>& reset)
    : impl_(std::make_unique<Impl>()) {
  const at::cuda::CUDAStream caller = at::cuda::getCurrentCUDAStream();
  const at::cuda::CUDAStream side = impl_->stream.get();
  at::cuda::CUDAEvent queued;  // the side stream starts after the caller's queued work
  queued.record(caller);
  queued.block(side);
  {
    const c10::cuda::CUDAStreamGuard guard(side);
    for (int i = 0; i < 2; ++i) work();
    reset();
    // Thread-local capture: other threads (frames being encoded, other answers) go on
    // allocating and synchronising while this one captures. The default, global mode fails
    // their calls ("operation not permitted when stream is capturing": measured with 32
    // realtime sessions, docs/benchmarks.md).
    impl_->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    try {
      work();
    } catch (...) {
      // The capture ends before the error leaves: one left open fails every later call on
      // its stream. Its own error (an invalidated capture) says less than the work's.
      try {
        impl_->graph.capture_end();
      } catch (const std::exception&) {
      }
      throw;
    }
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
