#include "memory/sink_kv.h"

#include <cassert>

namespace vigil::memory {

int64_t SinkKv::kv_bytes() const {
  int64_t bytes = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    bytes += keys[i].numel() * static_cast<int64_t>(keys[i].element_size());
    bytes += values[i].numel() * static_cast<int64_t>(values[i].element_size());
  }
  return bytes;
}

torch::Tensor SinkKv::positions(torch::Device device) const {
  return torch::arange(tokens(), torch::TensorOptions().dtype(torch::kInt64).device(device));
}

SinkKv SinkKv::capture(const llm::KvCache& cache, int64_t layers) {
  SinkKv sinks;
  for (int64_t layer = 0; layer < layers; ++layer) {
    const llm::KvView view = cache.view(static_cast<int>(layer));
    assert(view.keys.defined() && view.keys.size(1) == cache.length());
    assert(torch::equal(view.positions.cpu(), torch::arange(view.positions.size(0))));
    sinks.keys.push_back(view.keys.clone());
    sinks.values.push_back(view.values.clone());
  }
  return sinks;
}

}  // namespace vigil::memory
