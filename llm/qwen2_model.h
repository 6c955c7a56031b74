// The Qwen2 decoder (the language model of LLaVA-OneVision and Qwen2-VL) in libtorch:
// embeddings, RMSNorm, RoPE, grouped-query attention with q/k/v biases, SwiGLU MLP, tied or
// untied head. Numerics follow transformers' modeling_qwen2.py (RMSNorm in fp32 with the
// weight applied after the cast back; RoPE tables in fp32 cast to the activation dtype).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <vector>

#include "llm/checkpoint.h"
#include "llm/kv_cache.h"
#include "llm/qwen2_config.h"

namespace vigil::llm {

class Qwen2Model {
 public:
  // Loads the text model's weights from checkpoint onto device in dtype (zero-copy from the
  // mapping when both already match: CPU fp32 weights stored in fp32). Throws ModelLoadError
  // naming the checkpoint and tensor for a missing tensor or a wrong shape.
  static std::unique_ptr<Qwen2Model> load(const Checkpoint& checkpoint, const Qwen2Config& config,
                                          torch::Device device, torch::ScalarType dtype);

  const Qwen2Config& config() const { return config_; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }

  // Token embeddings [n, hidden] for ids int64 [n].
  torch::Tensor embed(const torch::Tensor& ids) const;
  // Runs every layer over embeddings [n, hidden] at positions int64 [n]. Each token attends
  // to the cache's tokens and the new ones whose position is <= its own; the new keys and
  // values are appended to cache (each layer first shows cache its pre-RoPE queries:
  // KvCache::observe_queries). Returns the final-normed hidden states [n, hidden].
  torch::Tensor forward(const torch::Tensor& embeddings, const torch::Tensor& positions,
                        KvCache& cache) const;
  // One decoding step for a batch of sequences: ids int64 [batch] (one new token per row,
  // on the model's device) go into cache at each row's next position; returns their logits
  // [batch, vocab] (fp32). Only device work with fixed shapes, no host synchronisation: the
  // step can be captured in a CUDA graph (BatchDecoder does).
  torch::Tensor decode_step(const torch::Tensor& ids, BatchKvCache& cache) const;
  // Vocabulary logits [n, vocab], fp32, for hidden states [n, hidden].
  torch::Tensor logits(const torch::Tensor& hidden) const;
  // Applies RoPE at `positions` (int64 [n]) to x [heads, n, head_dim].
  torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& positions) const;

 private:
  struct Layer {
    torch::Tensor input_norm, post_attention_norm;
    torch::Tensor q_weight, q_bias, k_weight, k_bias, v_weight, v_bias, o_weight;
    torch::Tensor gate_weight, up_weight, down_weight;
    // On devices where the weights are copies anyway (not borrowed from the file), q, k and
    // v share one matrix and gate and up another (the separate ones are views into them), so
    // each takes one matrix multiplication. Undefined otherwise.
    torch::Tensor qkv_weight, qkv_bias, gate_up_weight;
  };
  struct Projections {
    torch::Tensor q, k, v;  // [n, heads * head_dim], [n, kv_heads * head_dim] (x2)
    torch::Tensor qk;       // q and k side by side, when fused weights give them so for free
  };
  Qwen2Model(Qwen2Config config, torch::Device device, torch::ScalarType dtype);
  static void fuse(Layer& layer);
  torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const;
  Projections project(const Layer& layer, const torch::Tensor& x) const;
  torch::Tensor mlp(const Layer& layer, const torch::Tensor& x) const;
  // cos and sin of the rotation angles at positions (int64 [...]): [..., head_dim] in dtype.
  std::pair<torch::Tensor, torch::Tensor> rope_tables(const torch::Tensor& positions,
                                                      torch::ScalarType dtype) const;
  // What one forward() knows of its new tokens, shared by its layers.
  struct Pass {
    torch::Tensor positions;       // int64 [n], on the model's device
    bool ascending = false;        // positions strictly increase
    bool suffix = false;           // ascending and after every cached token (ordered_end)
    std::optional<bool> unmasked;  // one new token after every cached one (set in layer 0)
    // RoPE tables of the new tokens (the same in every layer) and of the last context seen;
    // a layer whose context positions are that same memory (the streaming window) reuses them.
    // context_positions is held, so no other tensor can take its address within the forward.
    torch::Tensor query_cos, query_sin;
    torch::Tensor context_positions, context_cos, context_sin;
  };
  torch::Tensor attention(int index, const Layer& layer, const torch::Tensor& x, Pass& pass,
                          KvCache& cache) const;

  Qwen2Config config_;
  torch::Device device_;
  torch::ScalarType dtype_;
  torch::Tensor embed_tokens_, final_norm_, lm_head_, inverse_frequencies_;
  std::vector<Layer> layers_;
  std::vector<std::shared_ptr<const void>> mappings_;  // keep borrowed weights valid
};

}  // namespace vigil::llm
