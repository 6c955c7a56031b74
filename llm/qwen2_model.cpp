#include "llm/qwen2_model.h"

#include <cmath>
#include <limits>
#include <optional>
#include <tuple>
#include <utility>

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
    // Weights copied onto an accelerator are fused; CPU weights may be borrowed from the
    // file's mapping and stay separate.
    if (device.type() != torch::kCPU) fuse(layer);
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
  // As transformers: normalised in fp32, rounded to x's dtype, then scaled in that dtype.
  return weight * compat::unit_rms_norm(x, config_.rms_norm_eps);
}

std::pair<torch::Tensor, torch::Tensor> Qwen2Model::rope_tables(const torch::Tensor& positions,
                                                                torch::ScalarType dtype) const {
  const torch::Tensor frequencies =
      positions.to(device_).to(torch::kFloat32).unsqueeze(-1) * inverse_frequencies_;
  const torch::Tensor angles = torch::cat({frequencies, frequencies}, -1);  // [..., head_dim]
  return {angles.cos().to(dtype), angles.sin().to(dtype)};
}

namespace {

// x·cos + rotate_half(x)·sin, tables broadcastable to x.
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& cos,
                         const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const torch::Tensor rotated_half =
      torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated_half * sin;
}

// apply_rope for tables prepared once per step: x·cos + roll(x, half)·signed_sin, where
// signed_sin is sin with its first half negated (three kernels instead of five).
torch::Tensor apply_rope_prepared(const torch::Tensor& x, const torch::Tensor& cos,
                                  const torch::Tensor& signed_sin) {
  return torch::addcmul(x * cos, x.roll(x.size(-1) / 2, -1), signed_sin);
}

// softmax(q·kᵀ·scale, masked)·v with the query heads of a group as rows of one attention
// against their shared key head: queries [B, kv_heads, group·n, D], keys and values
// [B, kv_heads, T, D], `blocked` broadcastable to the scores [B, kv_heads, group·n, T]. Two
// batched matrix products, which cuBLAS spreads over the whole card where a fused attention
// kernel gets one block per head for a few new tokens. Scores are computed in score_type
// (fp32 as the fused kernels do, or the model's dtype where speed matters more), softmax in
// fp32. A scale of 1 means the queries carry it already.
torch::Tensor grouped_attention(const torch::Tensor& queries, const torch::Tensor& keys,
                                const torch::Tensor& values, const torch::Tensor& blocked,
                                double scale, torch::ScalarType score_type) {
  const torch::Tensor scaled =
      scale == 1.0 ? queries.to(score_type) : queries.to(score_type) * scale;
  torch::Tensor scores = torch::matmul(scaled, keys.to(score_type).transpose(-2, -1));
  scores.masked_fill_(blocked, -std::numeric_limits<float>::infinity());
  // softmax accumulates in fp32 whatever the dtype of its input.
  const torch::Tensor weights = scores.scalar_type() == values.scalar_type()
                                    ? torch::softmax(scores, -1)
                                    : torch::softmax(scores, -1).to(values.scalar_type());
  return torch::matmul(weights, values);
}

}  // namespace

torch::Tensor Qwen2Model::rotate(const torch::Tensor& x, const torch::Tensor& positions) const {
  const auto [cos, sin] = rope_tables(positions, x.scalar_type());  // [n, head_dim]
  return apply_rope(x, cos, sin);
}

void Qwen2Model::fuse(Layer& layer) {
  const int64_t q_rows = layer.q_weight.size(0);
  const int64_t kv_rows = layer.k_weight.size(0);
  layer.qkv_weight = torch::cat({layer.q_weight, layer.k_weight, layer.v_weight}, 0);
  layer.qkv_bias = torch::cat({layer.q_bias, layer.k_bias, layer.v_bias}, 0);
  layer.q_weight = layer.qkv_weight.narrow(0, 0, q_rows);
  layer.k_weight = layer.qkv_weight.narrow(0, q_rows, kv_rows);
  layer.v_weight = layer.qkv_weight.narrow(0, q_rows + kv_rows, kv_rows);
  layer.q_bias = layer.qkv_bias.narrow(0, 0, q_rows);
  layer.k_bias = layer.qkv_bias.narrow(0, q_rows, kv_rows);
  layer.v_bias = layer.qkv_bias.narrow(0, q_rows + kv_rows, kv_rows);
  const int64_t inner = layer.gate_weight.size(0);
  layer.gate_up_weight = torch::cat({layer.gate_weight, layer.up_weight}, 0);
  layer.gate_weight = layer.gate_up_weight.narrow(0, 0, inner);
  layer.up_weight = layer.gate_up_weight.narrow(0, inner, inner);
}

Qwen2Model::Projections Qwen2Model::project(const Layer& layer, const torch::Tensor& x) const {
  if (!layer.qkv_weight.defined()) {
    return {torch::linear(x, layer.q_weight, layer.q_bias),
            torch::linear(x, layer.k_weight, layer.k_bias),
            torch::linear(x, layer.v_weight, layer.v_bias), torch::Tensor()};
  }
  const torch::Tensor qkv = torch::linear(x, layer.qkv_weight, layer.qkv_bias);
  const int64_t q_size = layer.q_weight.size(0);
  const int64_t kv_size = layer.k_weight.size(0);
  return {qkv.narrow(-1, 0, q_size), qkv.narrow(-1, q_size, kv_size),
          qkv.narrow(-1, q_size + kv_size, kv_size), qkv.narrow(-1, 0, q_size + kv_size)};
}

// silu(x·gateᵀ) · (x·upᵀ), the MLP before its down projection; one matrix product when gate
// and up are fused (gate_up defined).
static torch::Tensor swiglu(const torch::Tensor& x, const torch::Tensor& gate,
                            const torch::Tensor& up, const torch::Tensor& gate_up) {
  if (!gate_up.defined()) return torch::silu(torch::linear(x, gate)) * torch::linear(x, up);
  const torch::Tensor both = torch::linear(x, gate_up);
  const int64_t inner = gate.size(0);
  return torch::silu(both.narrow(-1, 0, inner)) * both.narrow(-1, inner, inner);
}

torch::Tensor Qwen2Model::mlp(const Layer& layer, const torch::Tensor& x) const {
  return torch::linear(swiglu(x, layer.gate_weight, layer.up_weight, layer.gate_up_weight),
                       layer.down_weight);
}

// Up to this many new tokens attend through grouped_attention's two matrix products (their
// scores, heads x tokens x context in fp32, stay small); more go to the fused kernel.
constexpr int64_t kGroupedAttentionTokens = 256;

torch::Tensor Qwen2Model::attention(int index, const Layer& layer, const torch::Tensor& x,
                                    Pass& pass, KvCache& cache) const {
  const int64_t n = x.size(0);
  const int64_t heads = config_.num_heads;
  const int64_t kv_heads = config_.num_kv_heads;
  const int64_t head_dim = config_.head_dim;
  const torch::Tensor& positions = pass.positions;
  const Projections p = project(layer, x);
  const torch::Tensor q = p.q.reshape({n, heads, head_dim}).transpose(0, 1);
  const torch::Tensor k = p.k.reshape({n, kv_heads, head_dim}).transpose(0, 1);
  const torch::Tensor v = p.v.reshape({n, kv_heads, head_dim}).transpose(0, 1);
  cache.observe_queries(index, q);
  cache.append(index, k, v, positions);
  const KvView context = cache.view(index);

  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  if (n == 1 && !pass.suffix && !pass.unmasked.has_value()) {
    // Whether the new token comes after every cached one: checked once per forward, in its
    // first layer (every layer holds the same positions), at the cost of one wait for the
    // device.
    pass.unmasked = (context.positions <= positions).all().item<bool>();
  }
  const bool unmasked_tail = n == 1 && (pass.suffix || *pass.unmasked);
  if (!pass.query_cos.defined()) {
    std::tie(pass.query_cos, pass.query_sin) = rope_tables(positions, q.scalar_type());
  }
  const bool same_context = pass.context_positions.defined() &&
                            pass.context_positions.data_ptr() == context.positions.data_ptr() &&
                            pass.context_positions.numel() == context.positions.numel();
  if (!same_context) {
    pass.context_positions = context.positions;
    std::tie(pass.context_cos, pass.context_sin) =
        rope_tables(context.positions, context.keys.scalar_type());
  }
  const torch::Tensor queries = apply_rope(q, pass.query_cos, pass.query_sin);  // [heads, n, D]
  const torch::Tensor keys =
      apply_rope(context.keys, pass.context_cos, pass.context_sin);  // [kv_heads, T, D]
  const int64_t group = heads / kv_heads;
  torch::Tensor out;  // [heads, n, head_dim]
  if (pass.ascending && context.keys.size(1) == n) {
    // A prompt on an empty cache: plain causal attention, no mask to build.
    out = compat::grouped_query_attention(queries.unsqueeze(0), keys.unsqueeze(0),
                                          context.values.unsqueeze(0), scale, /*causal=*/true)
              .squeeze(0);
  } else if (n == 1 && unmasked_tail) {
    // One new token after every cached one (generation): nothing to mask, the fused kernel
    // reads the shared key heads in place, as transformers' decoding does. (The same kernel
    // keeps greedy continuations equal to transformers' on CUDA: fp32 scores here changed two
    // of the four fixtures' on near-ties.)
    out = compat::grouped_query_attention(queries.unsqueeze(0), keys.unsqueeze(0),
                                          context.values.unsqueeze(0), scale, /*causal=*/false)
              .squeeze(0);
  } else if (pass.suffix &&
             (out = compat::causal_suffix_attention(queries.transpose(0, 1), keys.transpose(0, 1),
                                                    context.values.transpose(0, 1), scale))
                 .defined()) {
    // New tokens after every cached one (a step of streamed frames, a question against
    // memory): one fused kernel whose causal mask is aligned at the bottom right, no mask
    // built, shared key heads read in place.
    return torch::linear(out.reshape({n, heads * head_dim}), layer.o_weight);
  } else if (n <= kGroupedAttentionTokens) {
    // A few new tokens (one while generating, a frame's while streaming) against the cache:
    // a token sees every context token at a position no later than its own. Rows are
    // (query head in group, token), so each token's row of the mask repeats per head.
    const torch::Tensor blocked =
        (context.positions.unsqueeze(0) > positions.unsqueeze(1)).repeat({group, 1});
    out = grouped_attention(queries.reshape({1, kv_heads, group * n, head_dim}), keys.unsqueeze(0),
                            context.values.unsqueeze(0), blocked, scale, torch::kFloat32)
              .reshape({heads, n, head_dim});
  } else {
    // Many new tokens against the cache: the fused kernel, keys repeated per query head.
    const torch::Tensor allowed = context.positions.unsqueeze(0) <= positions.unsqueeze(1);
    const torch::Tensor shared_keys = group > 1 ? keys.repeat_interleave(group, 0) : keys;
    const torch::Tensor values =
        group > 1 ? context.values.repeat_interleave(group, 0) : context.values;
    out = compat::attention(queries.unsqueeze(0), shared_keys.unsqueeze(0), values.unsqueeze(0),
                            allowed, scale)
              .squeeze(0);
  }
  return torch::linear(out.transpose(0, 1).reshape({n, heads * head_dim}), layer.o_weight);
}

torch::Tensor Qwen2Model::forward(const torch::Tensor& embeddings, const torch::Tensor& positions,
                                  KvCache& cache) const {
  torch::NoGradGuard no_grad;
  const int64_t n = positions.size(0);
  Pass pass;
  // The positions are read on the host once (one wait for the device when they live there):
  // strictly increasing ones on an empty cache are a plain causal prompt, and ones that follow
  // every cached token attend without a mask.
  const torch::Tensor host = positions.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t* at = host.data_ptr<int64_t>();
  pass.ascending = true;
  for (int64_t i = 1; i < n; ++i) pass.ascending = pass.ascending && at[i] > at[i - 1];
  const std::optional<int64_t> ordered_end = cache.ordered_end();
  pass.suffix = pass.ascending && n >= 1 && ordered_end.has_value() && at[0] >= *ordered_end;
  pass.positions = positions.device() == device_ ? positions.to(torch::kInt64) : host.to(device_);
  torch::Tensor x = embeddings.to(device_, dtype_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = layers_[i];
    x = x + attention(static_cast<int>(i), layer, rms_norm(x, layer.input_norm), pass, cache);
    x = x + mlp(layer, rms_norm(x, layer.post_attention_norm));
  }
  return rms_norm(x, final_norm_);
}

torch::Tensor Qwen2Model::decode_step(const torch::Tensor& ids, BatchKvCache& cache) const {
  // Every operation here is a kernel launch that a CUDA graph replays: fused where libtorch
  // allows (RMSNorm, q/k/v and gate/up matrices, residual adds inside the matrix products,
  // three-kernel RoPE), since at batch 1 the launches, not the arithmetic, are what add to
  // reading the weights.
  torch::NoGradGuard no_grad;
  const int64_t batch = ids.size(0);
  const int64_t capacity = cache.capacity();
  const int64_t heads = config_.num_heads;
  const int64_t kv_heads = config_.num_kv_heads;
  const int64_t head_dim = config_.head_dim;
  const int64_t group = heads / kv_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  const double eps = config_.rms_norm_eps;

  // The new token of row b goes into slot lengths[b] at position next_positions[b]; slots
  // past a row's length are masked out.
  const torch::Tensor slots = cache.lengths.unsqueeze(1);  // [batch, 1]
  const auto [cos, sin] = rope_tables(cache.next_positions.view({batch, 1, 1}), dtype_);
  const int64_t half = head_dim / 2;
  const torch::Tensor signed_sin =
      torch::cat({-sin.narrow(-1, 0, half), sin.narrow(-1, half, half)}, -1);
  // q and k are neighbours in the projection's output and rotate together, as
  // [batch, heads + kv_heads, 1, head_dim]; the query rows of the tables carry the attention
  // scale.
  const auto per_head = [&](const torch::Tensor& table) {
    return torch::cat({(table * scale).expand({batch, heads, 1, head_dim}),
                       table.expand({batch, kv_heads, 1, head_dim})},
                      1);
  };
  const torch::Tensor qk_cos = per_head(cos);
  const torch::Tensor qk_sin = per_head(signed_sin);
  const torch::Tensor blocked =
      (torch::arange(capacity, slots.options()).unsqueeze(0) > slots).view({batch, 1, 1, capacity});
  const torch::Tensor slot_index =
      slots.view({batch, 1, 1, 1}).expand({batch, kv_heads, 1, head_dim});

  torch::Tensor x = torch::embedding(embed_tokens_, ids);  // [batch, hidden]
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = layers_[i];
    BatchKvCache::Layer& stored = cache.layers[i];
    const Projections p = project(layer, compat::rms_norm(x, layer.input_norm, eps));
    const torch::Tensor qk =
        apply_rope_prepared((p.qk.defined() ? p.qk : torch::cat({p.q, p.k}, -1))
                                .view({batch, heads + kv_heads, 1, head_dim}),
                            qk_cos, qk_sin);
    const torch::Tensor queries = qk.narrow(1, 0, heads).view({batch, kv_heads, group, head_dim});
    stored.rotated_keys.scatter_(2, slot_index, qk.narrow(1, heads, kv_heads));
    stored.values.scatter_(2, slot_index, p.v.reshape({batch, kv_heads, 1, head_dim}));
    const torch::Tensor out =
        grouped_attention(queries, stored.rotated_keys, stored.values, blocked, 1.0, dtype_);
    x.addmm_(out.reshape({batch, heads * head_dim}), layer.o_weight.t());
    const torch::Tensor h = compat::rms_norm(x, layer.post_attention_norm, eps);
    x.addmm_(swiglu(h, layer.gate_weight, layer.up_weight, layer.gate_up_weight),
             layer.down_weight.t());
  }
  cache.lengths.add_(cache.active);
  cache.next_positions.add_(cache.active);
  return logits(compat::rms_norm(x, final_norm_, eps));
}

torch::Tensor Qwen2Model::logits(const torch::Tensor& hidden) const {
  torch::NoGradGuard no_grad;
  return torch::linear(hidden, lm_head_).to(torch::kFloat32);
}

}  // namespace vigil::llm
