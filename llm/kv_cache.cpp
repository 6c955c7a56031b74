#include "llm/kv_cache.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>
#include <string>

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

namespace vigil::llm {

BatchKvCache::BatchKvCache(const Qwen2Config& config, int64_t batch, int64_t capacity,
                           torch::Device device, torch::ScalarType dtype)
    : batch_(batch),
      capacity_(capacity),
      host_lengths_(static_cast<size_t>(batch), 0),
      host_active_(static_cast<size_t>(batch), true) {
  const auto options = torch::TensorOptions().device(device).dtype(dtype);
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::vector<int64_t> shape = {batch, config.num_kv_heads, capacity, config.head_dim};
    layers.push_back({torch::zeros(shape, options), torch::zeros(shape, options)});
  }
  const auto counters = torch::TensorOptions().device(device).dtype(torch::kInt64);
  lengths = torch::zeros({batch}, counters);
  next_positions = torch::zeros({batch}, counters);
  active = torch::ones({batch}, counters);
}

void BatchKvCache::assign(
    int64_t row, const KvCache& source,
    const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& rotate) {
  if (row < 0 || row >= batch_) {
    throw std::invalid_argument("BatchKvCache: row " + std::to_string(row) + " of a batch of " +
                                std::to_string(batch_));
  }
  // The context's tokens, which may be fewer than its length when positions leave gaps.
  const KvView first = source.length() > 0 ? source.view(0) : KvView{};
  const int64_t tokens = first.keys.defined() ? first.keys.size(1) : 0;
  if (tokens >= capacity_) {
    throw std::invalid_argument("BatchKvCache: a context of " + std::to_string(tokens) +
                                " tokens leaves no room in a capacity of " +
                                std::to_string(capacity_));
  }
  const int64_t next_position =
      tokens > 0 ? first.positions.max().item<int64_t>() + 1 : source.length();
  for (size_t i = 0; i < layers.size() && tokens > 0; ++i) {
    const KvView view = i == 0 ? first : source.view(static_cast<int>(i));
    layers[i].rotated_keys[row].narrow(1, 0, tokens).copy_(rotate(view.keys, view.positions));
    layers[i].values[row].narrow(1, 0, tokens).copy_(view.values);
  }
  lengths[row].fill_(tokens);
  next_positions[row].fill_(next_position);
  host_lengths_[static_cast<size_t>(row)] = tokens;
}

int64_t BatchKvCache::max_length() const {
  return *std::max_element(host_lengths_.begin(), host_lengths_.end());
}

void BatchKvCache::advance_host() {
  for (size_t row = 0; row < host_lengths_.size(); ++row) {
    if (host_active_[row]) ++host_lengths_[row];
  }
}

void BatchKvCache::set_active(int64_t row, bool on) {
  const auto r = static_cast<size_t>(row);
  if (host_active_.at(r) == on) return;
  host_active_[r] = on;
  active[row].fill_(on ? 1 : 0);
}

}  // namespace vigil::llm
