// A piece of CUDA work captured once and replayed with a single launch (CUDA graphs), which
// removes the per-kernel launch cost that dominates small steps such as decoding one token.
// Only CUDA builds (VIGIL_ENABLE_CUDA) can capture; elsewhere available() is false and the
// constructor throws.
#pragma once

#include <functional>
#include <memory>

namespace vigil::llm {

class CudaGraph {
 public:
  // True when this build can capture CUDA graphs.
  static bool available();

  // Runs `work` twice on a stream of its own (warm-up: lazy initialisation, allocator growth),
  // then `reset` (to undo the warm-up's effects on state the work advances), then captures one
  // run of `work`, which must only enqueue device work with fixed shapes and addresses: no
  // host synchronisation. Tensors it allocates live in the graph's private memory pool. The
  // capture is local to the calling thread: other threads may use the device meanwhile. An
  // exception from `work` ends the capture and leaves the constructor.
  CudaGraph(const std::function<void()>& work, const std::function<void()>& reset);
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Launches the captured work on the current stream.
  void replay();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::llm
