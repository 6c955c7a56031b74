// A Hugging Face checkpoint folder: config.json plus one model.safetensors or shards listed in
// model.safetensors.index.json. Tensors are found by name, trying the layouts a checkpoint
// may use (hub legacy "language_model.model.X" and transformers v5 "model.language_model.X").
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llm/safetensors_file.h"

namespace vigil::llm {

// Read-only; thread-safe after open.
class Checkpoint {
 public:
  // Throws ModelLoadError naming the folder or file: missing config.json, malformed JSON,
  // a missing shard, a bad safetensors file.
  static Checkpoint open(const std::string& directory);

  const std::string& directory() const { return directory_; }
  const nlohmann::json& config() const { return config_; }

  // The first of `names` present (nullptr when none is).
  const TensorView* find(const std::vector<std::string>& names) const;
  // The first of `names` present, checked against `shape`; throws ModelLoadError naming the
  // checkpoint and the first name when absent, or the tensor when its shape differs.
  const TensorView& require(const std::vector<std::string>& names,
                            const std::vector<int64_t>& shape) const;
  // Keeps every mapping alive (for zero-copy tensors).
  std::vector<std::shared_ptr<const void>> mappings() const;
  size_t tensor_count() const;

 private:
  std::string directory_;
  nlohmann::json config_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, const TensorView*> by_name_;
};

}  // namespace vigil::llm
