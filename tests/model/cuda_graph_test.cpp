// CUDA graphs (llm/cuda_graph.h): a capture in one thread must not fail another thread's work
// on the same card (a server encodes frames and answers other questions meanwhile), and a
// capture whose work throws must end, not leave its stream capturing. The CUDA cases run on
// the GPU machine (tools/gpu_check.sh, section tests); a CPU build checks that capture is
// refused.
#include "llm/cuda_graph.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "llm/batch_decoder.h"
#include "llm/checkpoint.h"
#include "llm/kv_cache.h"
#include "llm/qwen2_model.h"

namespace vigil::llm {
namespace {

const std::string kFixtures = VIGIL_FIXTURES;

TEST(CudaGraph, CpuBuildsRefuseToCapture) {
  if (CudaGraph::available()) GTEST_SKIP() << "a CUDA build captures";
  EXPECT_THROW(CudaGraph([] {}, [] {}), std::runtime_error);
}

TEST(CudaGraph, CaptureLetsOtherThreadsSynchronise) {
  if (!CudaGraph::available() || !torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::string dir = kFixtures + "/qwen2_gqa3_untied";
  const Checkpoint checkpoint = Checkpoint::open(dir);
  const auto model =
      Qwen2Model::load(checkpoint, qwen2_config_of_checkpoint(checkpoint.config(), dir),
                       torch::kCUDA, torch::kFloat32);
  const int layers = static_cast<int>(model->config().num_layers);
  ContiguousKvCache context(layers);
  model->forward(model->embed(torch::arange(1, 9)), torch::arange(8), context);

  // Another thread keeps making host-synchronising calls (nonzero copies its count to the
  // host, item() waits for the device), as a frame's encoding does, while this one captures
  // one decoding step after another. Its values come without the CUDA random generator, which
  // libtorch refuses to advance outside a capture while one is in progress (vigil samples on
  // the host: llm/sampler.cpp).
  std::atomic<bool> done{false};
  std::atomic<int> synchronised{0};
  std::string other_error;
  std::thread other([&] {
    try {
      while (!done.load()) {
        const torch::Tensor values =
            torch::arange(4096, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kCUDA))
                .mul_(0.618034)
                .frac_();
        const int64_t above = values.gt(0.5).nonzero().size(0);
        const float total = values.sum().item<float>();
        if (above < 0 || total < 0) throw std::logic_error("impossible values");
        ++synchronised;
      }
    } catch (const std::exception& e) {
      other_error = e.what();
    }
  });
  std::string capture_error;
  torch::Tensor captured, eager;
  try {
    for (int round = 0; round < 12; ++round) {
      BatchDecoder graph(*model, 1, 32, /*use_cuda_graph=*/true);
      graph.assign(0, context);
      captured = graph.step(torch::tensor({int64_t{5}}, torch::kCUDA));
      ASSERT_TRUE(graph.uses_cuda_graph());
    }
    BatchDecoder plain(*model, 1, 32, /*use_cuda_graph=*/false);
    plain.assign(0, context);
    eager = plain.step(torch::tensor({int64_t{5}}, torch::kCUDA));
  } catch (const std::exception& e) {
    capture_error = e.what();
  }
  done.store(true);
  other.join();
  EXPECT_EQ(capture_error, "");
  EXPECT_EQ(other_error, "");
  EXPECT_GT(synchronised.load(), 0);
  ASSERT_TRUE(captured.defined() && eager.defined());
  EXPECT_LE((captured - eager).abs().max().item<double>(), 1e-5 * eager.abs().max().item<double>());
}

TEST(CudaGraph, WorkThatThrowsWhileCapturedEndsTheCapture) {
  if (!CudaGraph::available() || !torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Tensor x = torch::ones({256}, torch::kCUDA);
  torch::Tensor y;
  int runs = 0;
  const auto work = [&] {
    y = x * 2;
    if (++runs == 3) throw std::runtime_error("work failed while captured");  // the capture
  };
  try {
    CudaGraph graph(work, [] {});
    FAIL() << "the capture's error did not leave the constructor";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "work failed while captured");
  }
  // Nothing is left capturing: synchronising calls work, and a new capture replays.
  EXPECT_EQ(x.sum().item<float>(), 256.0f);
  torch::Tensor z;
  CudaGraph again([&] { z = x * 3; }, [] {});
  again.replay();
  EXPECT_EQ(z.sum().item<float>(), 768.0f);
}

}  // namespace
}  // namespace vigil::llm
