// A KvCache that keeps its tokens in a ContiguousKvCache and forwards every call to it, for
// tests that change one answer of the interface (the length a cache reports, the order it
// vouches for) to reproduce another cache's contract.
#pragma once

#include "llm/kv_cache.h"

namespace vigil::llm {

class ForwardingKvCache : public KvCache {
 public:
  explicit ForwardingKvCache(int layers) : inner_(layers) {}
  void append(int layer, const torch::Tensor& keys, const torch::Tensor& values,
              const torch::Tensor& positions) override {
    inner_.append(layer, keys, values, positions);
  }
  KvView view(int layer) const override { return inner_.view(layer); }
  int64_t length() const override { return inner_.length(); }
  void truncate(int64_t length) override { inner_.truncate(length); }

 protected:
  const ContiguousKvCache& inner() const { return inner_; }

 private:
  ContiguousKvCache inner_;
};

}  // namespace vigil::llm
