#include "llm/qwen2_model.h"

#include <limits>

#include "llm/model_error.h"
#include "llm/torch_compat.h"
#include "llm/torch_tensors.h"

namespace vigil::llm {

Qwen2Model::Qwen2Model(Qwen2Config config, torch::Device device, torch::ScalarType dtype)
    : config_(std::move(config)), device_(device), dtype_(dtype) {}

std::unique_ptr<Qwen2Model> Qwen2Model::load(const Checkpoint& checkpoint,
                                             const Qwen2Config& config, torch::Device device,
                                             torch::ScalarType dtype) {
  std::unique_ptr<Qwen2Model> model(new Qwen2Model(config, device, dtype));
  model->mappings_ = checkpoint.mappings();
  const int64_t hidden = config.hidden_size;
  const int64_t q_size = config.num_heads * config.head_dim;
  const int64_t kv_size = config.num_kv_heads * config.head_dim;
  const int64_t inner = config.intermediate_size;
  // The text model's weights under each layout a checkpoint may use.
  std::vector<std::string> prefixes = {config.weight_prefix};
  if (config.weight_prefix == "language_model.model.") prefixes.push_back("model.language_model.");
  const auto load = [&](const std::string& name, const std::vector<int64_t>& shape) {
    std::vector<std::string> names;
    for (const std::string& prefix : prefixes) names.push_back(prefix + name);
    return to_torch(checkpoint.require(names, shape), device, dtype);
  };

  model->embed_tokens_ = load("embed_tokens.weight", {config.vocab_size, hidden});
  model->final_norm_ = load("norm.weight", {hidden});
  // A head stored in the file wins (as in transformers v5); otherwise it must be tied.
  const TensorView* head = checkpoint.find({"lm_head.weight", "language_model.lm_head.weight"});
  if (head != nullptr) {
    model->lm_head_ =
        to_torch(checkpoint.require({head->name}, {config.vocab_size, hidden}), device, dtype);
  } else if (config.tie_word_embeddings) {
    model->lm_head_ = model->embed_tokens_;
  } else {
    throw ModelLoadError(checkpoint.directory() +
                         ": missing tensor 'lm_head.weight' (untied head)");
  }
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = "layers." + std::to_string(i) + ".";
    Layer layer;
    layer.input_norm = load(p + "input_layernorm.weight", {hidden});
    layer.post_attention_norm = load(p + "post_attention_layernorm.weight", {hidden});
    layer.q_weight = load(p + "self_attn.q_proj.weight", {q_size, hidden});
    layer.q_bias = load(p + "self_attn.q_proj.bias", {q_size});
    layer.k_weight = load(p + "self_attn.k_proj.weight", {kv_size, hidden});
    layer.k_bias = load(p + "self_attn.k_proj.bias", {kv_size});
    layer.v_weight = load(p + "self_attn.v_proj.weight", {kv_size, hidden});
    layer.v_bias = load(p + "self_attn.v_proj.bias", {kv_size});
    layer.o_weight = load(p + "self_attn.o_proj.weight", {hidden, q_size});
    layer.gate_weight = load(p + "mlp.gate_proj.weight", {inner, hidden});
    layer.up_weight = load(p + "mlp.up_proj.weight", {inner, hidden});
    layer.down_weight = load(p + "mlp.down_proj.weight", {hidden, inner});
    model->layers_.push_back(std::move(layer));
  }
  // inv_freq = 1 / theta^(2i / head_dim), in fp32 as transformers computes it.
  const torch::Tensor steps =
      torch::arange(0, config.head_dim, 2, torch::TensorOptions().dtype(torch::kInt64))
          .to(torch::kFloat32);
  model->inverse_frequencies_ =
      (1.0 / torch::pow(torch::tensor(config.rope_theta, torch::kFloat64).to(torch::kFloat32),
                        steps / static_cast<double>(config.head_dim)))
          .to(device);
  return model;
}

torch::Tensor Qwen2Model::embed(const torch::Tensor& ids) const {
  return torch::embedding(embed_tokens_, ids.to(device_));
}

torch::Tensor Qwen2Model::rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const {
  const torch::Tensor x32 = x.to(torch::kFloat32);
  const torch::Tensor variance = x32.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (x32 * torch::rsqrt(variance + config_.rms_norm_eps)).to(x.scalar_type());
}

torch::Tensor Qwen2Model::rotate(const torch::Tensor& x, const torch::Tensor& positions) const {
  const torch::Tensor frequencies =
      positions.to(device_).to(torch::kFloat32).unsqueeze(1) * inverse_frequencies_.unsqueeze(0);
  const torch::Tensor angles = torch::cat({frequencies, frequencies}, -1);  // [n, head_dim]
  const torch::Tensor cos = angles.cos().to(x.scalar_type());
  const torch::Tensor sin = angles.sin().to(x.scalar_type());
  const int64_t half = x.size(-1) / 2;
  const torch::Tensor rotated_half =
      torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated_half * sin;
}

torch::Tensor Qwen2Model::attention(int index, const Layer& layer, const torch::Tensor& x,
                                    const torch::Tensor& positions, KvCache& cache) const {
  const int64_t n = x.size(0);
  const int64_t head_dim = config_.head_dim;
  const torch::Tensor q = torch::linear(x, layer.q_weight, layer.q_bias)
                              .view({n, config_.num_heads, head_dim})
                              .transpose(0, 1);
  const torch::Tensor k = torch::linear(x, layer.k_weight, layer.k_bias)
                              .view({n, config_.num_kv_heads, head_dim})
                              .transpose(0, 1);
  const torch::Tensor v = torch::linear(x, layer.v_weight, layer.v_bias)
                              .view({n, config_.num_kv_heads, head_dim})
                              .transpose(0, 1);
  cache.observe_queries(index, q);
  cache.append(index, k, v, positions);
  const KvView context = cache.view(index);

  const int64_t group = config_.num_heads / config_.num_kv_heads;
  torch::Tensor keys = rotate(context.keys, context.positions);
  torch::Tensor values = context.values;
  if (group > 1) {
    keys = keys.repeat_interleave(group, 0);
    values = values.repeat_interleave(group, 0);
  }
  // A token sees every context token at a position no later than its own.
  const torch::Tensor blocked = context.positions.unsqueeze(0) > positions.unsqueeze(1);
  const torch::Tensor mask =
      torch::zeros(blocked.sizes(), torch::TensorOptions().dtype(torch::kFloat32).device(device_))
          .masked_fill(blocked, -std::numeric_limits<float>::infinity());
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  const torch::Tensor out = compat::attention(rotate(q, positions).unsqueeze(0), keys.unsqueeze(0),
                                              values.unsqueeze(0), mask, scale);
  return torch::linear(out.squeeze(0).transpose(0, 1).reshape({n, config_.num_heads * head_dim}),
                       layer.o_weight);
}

torch::Tensor Qwen2Model::forward(const torch::Tensor& embeddings, const torch::Tensor& positions,
                                  KvCache& cache) const {
  torch::NoGradGuard no_grad;
  const torch::Tensor token_positions = positions.to(device_).to(torch::kInt64);
  torch::Tensor x = embeddings.to(device_, dtype_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = layers_[i];
    x = x + attention(static_cast<int>(i), layer, rms_norm(x, layer.input_norm), token_positions,
                      cache);
    const torch::Tensor h = rms_norm(x, layer.post_attention_norm);
    x = x + torch::linear(torch::silu(torch::linear(h, layer.gate_weight)) *
                              torch::linear(h, layer.up_weight),
                          layer.down_weight);
  }
  return rms_norm(x, final_norm_);
}

torch::Tensor Qwen2Model::logits(const torch::Tensor& hidden) const {
  torch::NoGradGuard no_grad;
  return torch::linear(hidden, lm_head_).to(torch::kFloat32);
}

}  // namespace vigil::llm
