#include "llm/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "llm/model_error.h"

namespace vigil::llm {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream stream(path);
  if (!stream) throw ModelLoadError(path + ": cannot open");
  try {
    return nlohmann::json::parse(stream);
  } catch (const nlohmann::json::exception& error) {
    throw ModelLoadError(path + ": malformed JSON: " + error.what());
  }
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

Checkpoint Checkpoint::open(const std::string& directory) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(directory)) {
    throw ModelLoadError(directory + ": not a checkpoint folder (config.json + safetensors)");
  }
  Checkpoint checkpoint;
  checkpoint.directory_ = directory;
  checkpoint.config_ = read_json(directory + "/config.json");
  if (!checkpoint.config_.is_object()) {
    throw ModelLoadError(directory + "/config.json: not a JSON object");
  }

  std::vector<std::string> shard_names;
  const std::string index_path = directory + "/model.safetensors.index.json";
  if (fs::exists(index_path)) {
    const nlohmann::json index = read_json(index_path);
    if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
      throw ModelLoadError(index_path + ": no weight_map");
    }
    std::set<std::string> unique;
    for (const auto& entry : index["weight_map"].items()) {
      if (!entry.value().is_string()) throw ModelLoadError(index_path + ": bad weight_map entry");
      unique.insert(entry.value().get<std::string>());
    }
    shard_names.assign(unique.begin(), unique.end());
  } else if (fs::exists(directory + "/model.safetensors")) {
    shard_names.push_back("model.safetensors");
  } else {
    throw ModelLoadError(directory + ": no model.safetensors or model.safetensors.index.json");
  }
  checkpoint.files_.reserve(shard_names.size());
  for (const std::string& shard : shard_names) {
    if (shard.find('/') != std::string::npos) {
      throw ModelLoadError(index_path + ": shard name '" + shard + "' leaves the folder");
    }
    checkpoint.files_.push_back(SafetensorsFile::open(directory + "/" + shard));
  }
  for (const SafetensorsFile& file : checkpoint.files_) {
    for (const auto& entry : file.tensors()) checkpoint.by_name_[entry.first] = &entry.second;
  }
  return checkpoint;
}

const TensorView* Checkpoint::find(const std::vector<std::string>& names) const {
  for (const std::string& name : names) {
    const auto it = by_name_.find(name);
    if (it != by_name_.end()) return it->second;
  }
  return nullptr;
}

const TensorView& Checkpoint::require(const std::vector<std::string>& names,
                                      const std::vector<int64_t>& shape) const {
  const TensorView* view = find(names);
  if (view == nullptr) {
    throw ModelLoadError(directory_ + ": missing tensor '" + names.front() + "'");
  }
  if (view->shape != shape) {
    throw ModelLoadError(directory_ + ": tensor '" + view->name + "' has shape " +
                         shape_text(view->shape) + ", expected " + shape_text(shape));
  }
  return *view;
}

std::vector<std::shared_ptr<const void>> Checkpoint::mappings() const {
  std::vector<std::shared_ptr<const void>> result;
  for (const SafetensorsFile& file : files_) result.push_back(file.mapping());
  return result;
}

size_t Checkpoint::tensor_count() const {
  return by_name_.size();
}

}  // namespace vigil::llm
