#include "llm/sampler.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace vigil::llm {

Sampler::Sampler(SamplingParams params) : params_(params), random_(params.seed) {
  if (params_.temperature < 0 || params_.top_p <= 0 || params_.top_p > 1 || params_.min_p < 0 ||
      params_.min_p > 1 || params_.top_k < 0 || params_.repetition_penalty <= 0) {
    throw std::invalid_argument(
        "sampling: temperature >= 0, 0 < top_p <= 1, 0 <= min_p <= 1, top_k >= 0 and "
        "repetition_penalty > 0 are required");
  }
}

int64_t Sampler::next(const torch::Tensor& logits_in, const std::vector<int64_t>& history) {
  torch::Tensor logits = logits_in.to(torch::kCPU, torch::kFloat32).contiguous().clone();
  const int64_t vocab = logits.size(0);
  if (params_.repetition_penalty != 1.0 && !history.empty()) {
    // CTRL's rule, as transformers applies it: divide positive logits, multiply negative ones.
    float* values = logits.data_ptr<float>();
    std::vector<bool> seen(static_cast<size_t>(vocab), false);
    for (const int64_t id : history) {
      if (id < 0 || id >= vocab || seen[static_cast<size_t>(id)]) continue;
      seen[static_cast<size_t>(id)] = true;
      const double penalty = params_.repetition_penalty;
      values[id] = static_cast<float>(values[id] > 0 ? values[id] / penalty : values[id] * penalty);
    }
  }
  if (params_.temperature == 0.0) return logits.argmax().item<int64_t>();

  logits = logits / params_.temperature;
  const float minus_infinity = -std::numeric_limits<float>::infinity();
  if (params_.top_k > 0 && params_.top_k < vocab) {
    const torch::Tensor kth = std::get<0>(logits.topk(params_.top_k)).min();
    logits = logits.masked_fill(logits < kth, minus_infinity);
  }
  torch::Tensor probabilities = torch::softmax(logits, 0);
  if (params_.min_p > 0) {
    const torch::Tensor floor = probabilities.max() * params_.min_p;
    probabilities = probabilities.masked_fill(probabilities < floor, 0);
  }
  if (params_.top_p < 1.0) {
    const auto sorted = probabilities.sort(/*dim=*/0, /*descending=*/true);
    const torch::Tensor sorted_probabilities = std::get<0>(sorted);
    const torch::Tensor order = std::get<1>(sorted);
    const torch::Tensor cumulative = sorted_probabilities.cumsum(0);
    // Drop a token when the mass before it already reaches top_p (the first is always kept).
    const torch::Tensor drop = (cumulative - sorted_probabilities) >= params_.top_p;
    probabilities = probabilities.scatter(0, order, sorted_probabilities.masked_fill(drop, 0));
  }
  const torch::Tensor cumulative = probabilities.cumsum(0);
  const double total = cumulative[vocab - 1].item<double>();
  std::uniform_real_distribution<double> uniform(0.0, total);
  const double draw = uniform(random_);
  const float* sums = cumulative.data_ptr<float>();
  int64_t choice = std::upper_bound(sums, sums + vocab, static_cast<float>(draw)) - sums;
  if (choice >= vocab) choice = vocab - 1;
  // Never land on a token whose probability is zero (a float tie at the boundary).
  const float* p = probabilities.data_ptr<float>();
  while (choice > 0 && p[choice] == 0.0f) --choice;
  return choice;
}

}  // namespace vigil::llm
