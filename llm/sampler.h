// Choosing the next token from logits: greedy, or temperature sampling with top-k, top-p and
// min-p filters and a repetition penalty, reproducible from a seed.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

namespace vigil::llm {

struct SamplingParams {
  double temperature = 0.0;         // 0 = greedy (argmax)
  int64_t top_k = 0;                // 0 = off
  double top_p = 1.0;               // nucleus: keep the smallest set with this much mass
  double min_p = 0.0;               // keep tokens with p >= min_p * max p
  double repetition_penalty = 1.0;  // > 1 discourages tokens already in the sequence (CTRL rule)
  uint64_t seed = 0;
};

// Not thread-safe: one per generation (it owns the random state).
class Sampler {
 public:
  explicit Sampler(SamplingParams params);
  // Picks a token id from logits (fp32 [vocab], any device) given the ids seen so far.
  // Throws std::invalid_argument for parameters out of range.
  int64_t next(const torch::Tensor& logits, const std::vector<int64_t>& history);

 private:
  SamplingParams params_;
  std::mt19937_64 random_;
};

}  // namespace vigil::llm
