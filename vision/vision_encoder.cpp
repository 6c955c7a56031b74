#include "vision/vision_encoder.h"

#include "llm/model_error.h"
#include "vision/llava_onevision_config.h"
#include "vision/siglip_encoder.h"

namespace vigil::vision {

std::unique_ptr<VisionEncoder> load_vision_encoder(const llm::Checkpoint& checkpoint,
                                                   torch::Device device, torch::ScalarType dtype,
                                                   const VisionEncoderOptions& options) {
  const std::string where = checkpoint.directory() + "/config.json";
  const std::string model_type = checkpoint.config().value("model_type", "");
  if (model_type == "llava_onevision") {
    return SiglipEncoder::load(checkpoint, parse_llava_onevision_config(checkpoint.config(), where),
                               device, dtype, options);
  }
  throw llm::ModelLoadError(where + ": model_type '" + model_type +
                            "' has no vision encoder in vigil (llava_onevision)");
}

}  // namespace vigil::vision
