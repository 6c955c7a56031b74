#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <iostream>

#include "decoder/frame_source.h"
#include "llm/chat_template.h"
#include "llm/checkpoint.h"
#include "llm/generator.h"
#include "llm/kv_cache.h"
#include "llm/model_error.h"
#include "llm/tokenizer.h"
#include "service/command_line.h"
#include "service/commands.h"
#include "service/model_options.h"
#include "service/stop_tokens.h"
#include "vision/llava_onevision_model.h"

namespace vigil::service {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> interrupted{false};

void on_interrupt(int) {
  interrupted.store(true);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// frames_per_second over the whole video, or max_frames spread evenly over it when the rate
// would give more (as LLaVA-OneVision's examples sample: uniformly, first frame included).
decoder::SampleRequest frame_sampling(double duration_seconds, double frames_per_second,
                                      int max_frames) {
  const int64_t at_rate =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(duration_seconds * frames_per_second)));
  if (duration_seconds <= 0 || at_rate <= max_frames) {
    return decoder::SampleRequest::at_rate(frames_per_second);
  }
  std::vector<double> times;
  for (int i = 0; i < max_frames; ++i) times.push_back(duration_seconds * i / max_frames);
  return decoder::SampleRequest::at_times(std::move(times));
}

}  // namespace

// vigil ask --model DIR --video FILE --question TEXT [--fps R] [--max-frames N]
//           [--max-tokens N] [--device cpu|cuda] [--dtype f32|bf16|f16] [--show-prompt]
// Decodes sampled frames, encodes them with the checkpoint's vision encoder, renders the
// question with the checkpoint's chat template (a <video> in the user turn, expanded to the
// video's token count) and streams a greedy answer to stdout; timings go to stderr.
int run_ask_command(const std::vector<std::string>& args) {
  const CommandLine line(args,
                         {"--model", "--video", "--question", "--fps", "--max-frames",
                          "--max-tokens", "--device", "--dtype"},
                         {"--show-prompt"});
  if (!line.positional().empty()) throw UsageError("ask takes no positional arguments");
  for (const char* flag : {"--model", "--video", "--question"}) {
    if (!line.has(flag)) throw UsageError(std::string("ask needs ") + flag);
  }
  const ModelPlacement placement =
      parse_model_placement(line.value("--device", "cpu"), line.value("--dtype", "f32"));
  const double frames_per_second = line.number("--fps", 1.0);
  const int max_frames = line.integer("--max-frames", 32);
  const int max_tokens = line.integer("--max-tokens", 128);
  if (!(frames_per_second > 0)) throw UsageError("--fps must be > 0");
  if (max_frames < 1) throw UsageError("--max-frames must be >= 1");
  if (max_tokens < 0) throw UsageError("--max-tokens must be >= 0");

  const Clock::time_point load_start = Clock::now();
  const std::string model_dir = line.value("--model");
  const llm::Checkpoint checkpoint = llm::Checkpoint::open(model_dir);
  const llm::Tokenizer tokenizer = llm::Tokenizer::load(model_dir + "/tokenizer.json");
  const auto model =
      vision::LlavaOnevisionModel::load(checkpoint, placement.device, placement.dtype);
  const std::optional<int32_t> video_id = tokenizer.token_to_id("<video>");
  if (!video_id || *video_id != model->video_token_id()) {
    throw llm::ModelLoadError(model_dir + "/tokenizer.json: '<video>' is " +
                              (video_id ? "id " + std::to_string(*video_id) : "not a token") +
                              ", config.json's video_token_index is " +
                              std::to_string(model->video_token_id()));
  }
  const double load_seconds = seconds_since(load_start);

  // Frames.
  const Clock::time_point decode_start = Clock::now();
  const decoder::MediaSource source = decoder::MediaSource::from_string(line.value("--video"));
  decoder::DecodeOptions options;
  const decoder::StreamInfo info = decoder::probe(source, options.source);
  options.sampling = frame_sampling(info.duration_seconds, frames_per_second, max_frames);
  const std::unique_ptr<decoder::FrameSource> frames = decoder::open_frame_source(source, options);
  std::vector<decoder::Frame> decoded;
  while (std::optional<decoder::Frame> frame = frames->next()) {
    decoded.push_back(std::move(*frame));
    if (static_cast<int>(decoded.size()) == max_frames) {
      frames->cancel();
      break;
    }
  }
  if (decoded.empty()) throw UsageError("--video " + source.describe() + ": no frames decoded");
  const double decode_seconds = seconds_since(decode_start);

  // Video tokens.
  const Clock::time_point encode_start = Clock::now();
  std::vector<vision::RgbImageView> views;
  for (const decoder::Frame& frame : decoded) {
    views.push_back({frame.rgb.data(), vision::ImageSize{frame.width, frame.height}});
  }
  const vision::VideoTokens video = model->vision_encoder().encode_frames(views);
  const torch::Tensor video_rows = model->video_sequence(video);
  if (placement.device.is_cuda()) torch::cuda::synchronize();
  const double encode_seconds = seconds_since(encode_start);

  // The prompt: one <video> in the user turn, expanded to the video's rows.
  const std::string model_type = checkpoint.config().value("model_type", "");
  const llm::ChatTemplate chat_template = llm::ChatTemplate::load_or_builtin(
      model_dir, llm::builtin_chat_template_for(model_type)
                     .value_or(llm::BuiltinChatTemplate::kLlavaOnevision));
  llm::ChatTemplateInputs conversation;
  conversation.messages.push_back(
      {{"role", "user"},
       {"content",
        nlohmann::ordered_json::array(
            {{{"type", "video"}}, {{"type", "text"}, {"text", line.value("--question")}}})}});
  conversation.add_generation_prompt = true;
  const std::string prompt = chat_template.render(conversation);
  if (line.has("--show-prompt")) std::cerr << prompt;
  std::vector<int32_t> prompt_ids;
  for (const int32_t id : tokenizer.encode(prompt, /*allow_special=*/true)) {
    if (id != *video_id) {
      prompt_ids.push_back(id);
      continue;
    }
    prompt_ids.insert(prompt_ids.end(), static_cast<size_t>(video_rows.size(0)), id);
  }
  // Prefill through the last video row with the video in place; the rest of the prompt (the
  // question, the assistant header) goes to the generator, which continues the cache.
  const auto last_video = std::find(prompt_ids.rbegin(), prompt_ids.rend(), *video_id);
  if (last_video == prompt_ids.rend() || last_video == prompt_ids.rbegin()) {
    throw llm::ModelLoadError(chat_template.origin() +
                              ": the rendered prompt has no <video> before text to answer");
  }
  const size_t split = static_cast<size_t>(prompt_ids.rend() - last_video);
  const std::vector<int64_t> head(prompt_ids.begin(), prompt_ids.begin() + split);
  const llm::Qwen2Model& language_model = model->language_model();
  llm::ContiguousKvCache cache(static_cast<int>(language_model.config().num_layers));
  const Clock::time_point prefill_start = Clock::now();
  language_model.forward(model->embed(torch::tensor(head), video_rows),
                         torch::arange(static_cast<int64_t>(head.size())), cache);
  const double video_prefill_seconds = seconds_since(prefill_start);

  llm::GenerationRequest request;
  request.prompt_ids.assign(prompt_ids.begin() + split, prompt_ids.end());
  request.max_tokens = max_tokens;
  request.stop_token_ids = stop_token_ids(model_dir, tokenizer);
  std::signal(SIGINT, on_interrupt);  // Ctrl-C cancels the answer, not the process
  const llm::Generator generator(language_model, tokenizer);
  const llm::GenerationResult result = generator.generate(
      request, cache,
      [](const std::string& text) {
        std::cout << text << std::flush;
        return true;
      },
      &interrupted);
  std::signal(SIGINT, SIG_DFL);
  std::cout << std::endl;

  const vision::VisionEncoderCounters counters = model->vision_encoder().counters();
  const double decode_rate =
      result.decode_seconds > 0 && result.ids.size() > 1
          ? static_cast<double>(result.ids.size() - 1) / result.decode_seconds
          : 0;
  std::cerr << "load " << load_seconds << " s; " << decoded.size() << " frames decoded in "
            << decode_seconds << " s; " << counters.frames << " frames encoded to "
            << counters.tokens << " video tokens in " << encode_seconds << " s; prompt "
            << prompt_ids.size() << " tokens, prefill "
            << video_prefill_seconds + result.prefill_seconds << " s; generated "
            << result.ids.size() << " tokens, " << decode_rate
            << " tokens/s; finish: " << to_string(result.finish_reason) << "\n";
  return 0;
}

}  // namespace vigil::service
