#include "llm/kv_cache.h"

#include <algorithm>
#include <cassert>

namespace vigil::llm {

ContiguousKvCache::ContiguousKvCache(int num_layers) : layers_(static_cast<size_t>(num_layers)) {}

void ContiguousKvCache::append(int layer_index, const torch::Tensor& keys,
                               const torch::Tensor& values, const torch::Tensor& positions) {
  Layer& layer = layers_.at(static_cast<size_t>(layer_index));
  const int64_t added = keys.size(1);
  assert(values.size(1) == added && positions.size(0) == added);
  const int64_t needed = layer.length + added;
  const int64_t capacity = layer.keys.defined() ? layer.keys.size(1) : 0;
  if (needed > capacity) {
    const int64_t grown = std::max<int64_t>({needed, capacity * 2, 64});
    const auto grow = [&](const torch::Tensor& old, const torch::Tensor& like, int dim) {
      std::vector<int64_t> shape = like.sizes().vec();
      shape[static_cast<size_t>(dim)] = grown;
      torch::Tensor fresh = torch::empty(shape, like.options());
      if (old.defined() && layer.length > 0) {
        fresh.narrow(dim, 0, layer.length).copy_(old.narrow(dim, 0, layer.length));
      }
      return fresh;
    };
    layer.keys = grow(layer.keys, keys, 1);
    layer.values = grow(layer.values, values, 1);
    layer.positions = grow(layer.positions, positions, 0);
  }
  layer.keys.narrow(1, layer.length, added).copy_(keys);
  layer.values.narrow(1, layer.length, added).copy_(values);
  layer.positions.narrow(0, layer.length, added).copy_(positions);
  layer.length = needed;
}

KvView ContiguousKvCache::view(int layer_index) const {
  const Layer& layer = layers_.at(static_cast<size_t>(layer_index));
  if (layer.length == 0) return {};
  return {layer.keys.narrow(1, 0, layer.length), layer.values.narrow(1, 0, layer.length),
          layer.positions.narrow(0, 0, layer.length)};
}

int64_t ContiguousKvCache::length() const {
  return layers_.empty() ? 0 : layers_[0].length;
}

void ContiguousKvCache::truncate(int64_t length) {
  for (Layer& layer : layers_) layer.length = std::min(layer.length, std::max<int64_t>(length, 0));
}

}  // namespace vigil::llm
