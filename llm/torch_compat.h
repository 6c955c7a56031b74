// The one place where libtorch versions differ: 1.13 (Debian, CPU, CI) and 2.x (CUDA machine).
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

// True when the libtorch being compiled against is at least major.minor.
#define VIGIL_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||        \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace vigil::llm::compat {

// softmax(q·kᵀ·scale, masked)·v for q [B, H, Lq, D], k and v [B, H, Lk, D]. `allowed` is a
// boolean mask broadcastable to [B, H, Lq, Lk] (true: the query may attend to the key) or
// undefined (everything allowed). libtorch 2.x runs its fused kernels (flash without a mask,
// memory-efficient with one, on CUDA); 1.13 computes the same in plain operations, softmax
// in fp32.
inline torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, const torch::Tensor& allowed, double scale) {
#if TORCH_VERSION_MAJOR >= 2
  // No mask is passed as an empty optional (not an undefined tensor) so that the fused kernels
  // that take no mask (flash) stay eligible.
  std::optional<at::Tensor> attn_mask;
  if (allowed.defined()) attn_mask = allowed;
  return at::scaled_dot_product_attention(q, k, v, attn_mask, /*dropout_p=*/0.0,
                                          /*is_causal=*/false, scale);
#else
  torch::Tensor scores = torch::matmul(q, k.transpose(-2, -1)).to(torch::kFloat32) * scale;
  if (allowed.defined()) {
    scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
  }
  return torch::matmul(torch::softmax(scores, -1).to(v.dtype()), v);
#endif
}

// softmax(q·kᵀ·scale)·v with no mask, or causal (query i attends to keys 0..i of the same
// sequence), for q [B, H, L, D] and k, v [B, Hkv, Lk, D] with H a multiple of Hkv
// (grouped-query attention: query head h reads key head h / (H / Hkv)). libtorch >= 2.5
// reads the shared key heads in place (enable_gqa); older versions repeat them.
inline torch::Tensor grouped_query_attention(const torch::Tensor& q, const torch::Tensor& k,
                                             const torch::Tensor& v, double scale, bool causal) {
  const int64_t group = q.size(1) / k.size(1);
#if VIGIL_TORCH_AT_LEAST(2, 5)
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/std::nullopt, /*dropout_p=*/0.0,
                                          causal, scale, /*enable_gqa=*/group > 1);
#else
  const torch::Tensor keys = group > 1 ? k.repeat_interleave(group, 1) : k;
  const torch::Tensor values = group > 1 ? v.repeat_interleave(group, 1) : v;
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, keys, values, /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                          causal, scale);
#else
  torch::Tensor allowed;
  if (causal) {
    allowed = torch::ones({q.size(2), k.size(2)}, q.options().dtype(torch::kBool)).tril();
  }
  return attention(q, keys, values, allowed, scale);
#endif
#endif
}

// softmax(q·kᵀ·scale)·v where the Lq queries are the last Lq tokens of the Lk keys' sequence:
// query i sees keys 0 .. Lk - Lq + i (a causal mask aligned at the bottom right), with
// grouped-query heads (H a multiple of Hkv: query head h reads key head h / (H / Hkv)).
// q [Lq, H, D], k and v [Lk, Hkv, D], each with a contiguous last dimension (other strides
// are free, so views of a cache serve). Returns [Lq, H, D] from one flash-attention kernel
// on CUDA with libtorch >= 2.5, fp16 or bf16, D a multiple of 8 up to 256; otherwise (CPU,
// libtorch 1.13, another dtype or size, a card the kernel refuses) an undefined tensor, and
// the caller masks explicitly. (Flash attention's causal mask is the bottom-right one when
// Lq < Lk, which is why libtorch's scaled_dot_product_attention, whose is_causal is the
// top-left one, does not hand it such calls.)
inline torch::Tensor causal_suffix_attention(const torch::Tensor& q, const torch::Tensor& k,
                                             const torch::Tensor& v, double scale) {
#if VIGIL_TORCH_AT_LEAST(2, 5)
  const int64_t head_dim = q.size(-1);
  const bool half = q.scalar_type() == torch::kBFloat16 || q.scalar_type() == torch::kHalf;
  if (!q.is_cuda() || !half || head_dim % 8 != 0 || head_dim > 256) return {};
  // A card without the kernel (before sm80) refuses the first call; later calls skip it.
  static std::atomic<bool> refused{false};
  if (refused.load()) return {};
  try {
    return std::get<0>(at::_flash_attention_forward(
                           q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0),
                           /*cum_seq_q=*/std::nullopt, /*cum_seq_k=*/std::nullopt, q.size(0),
                           k.size(0), /*dropout_p=*/0.0, /*is_causal=*/true,
                           /*return_debug_mask=*/false, scale, /*window_size_left=*/std::nullopt,
                           /*window_size_right=*/std::nullopt, /*seqused_k=*/std::nullopt,
                           /*alibi_slopes=*/std::nullopt))
        .squeeze(0);
  } catch (const c10::OutOfMemoryError&) {
    throw;  // a full card is the caller's error, not a refusal of the kernel
  } catch (const c10::Error&) {
    refused.store(true);
    return {};
  }
#else
  (void)q;
  (void)k;
  (void)v;
  (void)scale;
  return {};
#endif
}

// RMSNorm as transformers' Qwen2 computes it up to rounding: x·rsqrt(mean(x²) + eps)·weight,
// in fp32. libtorch 2.x has one fused operation for it; 1.13 composes it.
inline torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
#if VIGIL_TORCH_AT_LEAST(2, 4)
  return at::rms_norm(x, {x.size(-1)}, weight, eps);
#else
  const torch::Tensor x32 = x.to(torch::kFloat32);
  return weight * (x32 * torch::rsqrt(x32.pow(2).mean(-1, true) + eps)).to(x.scalar_type());
#endif
}

// x·rsqrt(mean(x²) + eps) over the last dimension, computed in fp32 and rounded to x's dtype
// once: the part of transformers' Qwen2RMSNorm before its weight, to the same roundings.
// libtorch 2.x computes it in one kernel (two passes over x instead of about ten), 1.13 in
// the composed operations.
inline torch::Tensor unit_rms_norm(const torch::Tensor& x, double eps) {
#if VIGIL_TORCH_AT_LEAST(2, 4)
  return at::rms_norm(x, {x.size(-1)}, /*weight=*/std::nullopt, eps);
#else
  const torch::Tensor x32 = x.to(torch::kFloat32);
  return (x32 * torch::rsqrt(x32.pow(2).mean(-1, true) + eps)).to(x.scalar_type());
#endif
}

// Restricts the fused attention that scaled_dot_product_attention may pick on CUDA to one
// backend ("flash", "cudnn", "efficient" or "math"; "default" leaves libtorch's choice), for
// benchmarks that compare them. Throws std::invalid_argument for another name, or for a
// backend this libtorch cannot select (1.13 has no fused kernels; cuDNN's needs >= 2.3). A
// call a backend cannot serve then fails loudly instead of silently taking another path.
inline void restrict_attention_backend(const std::string& backend) {
  if (backend == "default") return;
#if VIGIL_TORCH_AT_LEAST(2, 3)
  if (backend != "flash" && backend != "cudnn" && backend != "efficient" && backend != "math") {
    throw std::invalid_argument("unknown attention backend " + backend +
                                " (flash, cudnn, efficient, math or default)");
  }
  at::Context& context = at::globalContext();
  context.setSDPUseFlash(backend == "flash");
  context.setSDPUseCuDNN(backend == "cudnn");
  context.setSDPUseMemEfficient(backend == "efficient");
  context.setSDPUseMath(backend == "math");
#else
  throw std::invalid_argument("attention backend " + backend +
                              " cannot be selected with libtorch " TORCH_VERSION);
#endif
}

}  // namespace vigil::llm::compat
