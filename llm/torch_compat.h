// The one place where libtorch versions differ: 1.13 (Debian, CPU, CI) and 2.x (CUDA machine).
#pragma once

#include <torch/torch.h>

#include <optional>

namespace vigil::llm::compat {

// softmax(q·kᵀ·scale + mask)·v for q [B, H, Lq, D], k and v [B, H, Lk, D]; mask is additive
// (0 or -inf) [Lq, Lk] or undefined. libtorch 2.x runs its fused kernels (flash /
// memory-efficient on CUDA); 1.13 computes the same in plain operations, softmax in fp32.
inline torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& mask, double scale) {
#if TORCH_VERSION_MAJOR >= 2
  // No mask is passed as an empty optional (not an undefined tensor) so that the fused kernels
  // that take no mask (flash) stay eligible.
  std::optional<at::Tensor> attn_mask;
  if (mask.defined()) attn_mask = mask.to(q.dtype());
  return at::scaled_dot_product_attention(q, k, v, attn_mask, /*dropout_p=*/0.0,
                                          /*is_causal=*/false, scale);
#else
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)).to(torch::kFloat32) * scale;
  if (mask.defined()) scores = scores + mask.to(torch::kFloat32);
  return torch::matmul(torch::softmax(scores, -1).to(v.dtype()), v);
#endif
}

}  // namespace vigil::llm::compat
