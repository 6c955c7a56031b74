#include "service/video_pipeline.h"

#include <ATen/record_function.h>

#include <optional>
#include <stdexcept>
#include <utility>

namespace vigil::service {
namespace {

// The template's rendering of one user turn holding a video and `question`, split at the
// video's placeholder text: {before, after}.
std::pair<std::string, std::string> render_around_video(const llm::ChatTemplate& chat_template,
                                                        const std::string& system_prompt,
                                                        const std::string& placeholder,
                                                        const std::string& question) {
  llm::ChatTemplateInputs inputs;
  if (!system_prompt.empty()) {
    inputs.messages.push_back({{"role", "system"}, {"content", system_prompt}});
  }
  nlohmann::ordered_json content = nlohmann::ordered_json::array();
  content.push_back({{"type", "video"}});
  content.push_back({{"type", "text"}, {"text", question}});
  inputs.messages.push_back({{"role", "user"}, {"content", content}});
  inputs.add_generation_prompt = true;
  const std::string prompt = chat_template.render(inputs);
  const size_t at = prompt.find(placeholder);
  if (at == std::string::npos || prompt.find(placeholder, at + 1) != std::string::npos) {
    throw std::invalid_argument("chat template " + chat_template.origin() +
                                " does not render exactly one video placeholder '" + placeholder +
                                "' for a video part");
  }
  return {prompt.substr(0, at), prompt.substr(at + placeholder.size())};
}

// The text of the model's video placeholder token (LLaVA-OneVision: "<video>").
std::string video_placeholder(const vision::LlavaOnevisionModel& model,
                              const llm::Tokenizer& tokenizer) {
  const auto id = static_cast<int32_t>(model.video_token_id());
  const std::optional<std::string> text = tokenizer.id_to_token(id);
  if (!text) {
    throw std::invalid_argument("the tokenizer has no token for the model's video_token_index " +
                                std::to_string(id));
  }
  return *text;
}

}  // namespace

VideoPipeline::VideoPipeline(const vision::LlavaOnevisionModel& model,
                             const llm::Tokenizer& tokenizer,
                             const llm::ChatTemplate& chat_template, VideoPipelineConfig config)
    : model_(model),
      tokenizer_(tokenizer),
      chat_template_(chat_template),
      config_(std::move(config)) {
  placeholder_ = video_placeholder(model_, tokenizer_);
  prefix_text_ = render_around_video(chat_template_, config_.system_prompt, placeholder_, "").first;
  prefix_ids_ = tokenizer_.encode(prefix_text_, /*allow_special=*/true);
  if (prefix_ids_.empty()) {
    throw std::invalid_argument("chat template " + chat_template_.origin() +
                                " puts nothing before the video: a stream needs its prompt's "
                                "opening as attention sinks");
  }
}

std::string VideoPipeline::prompt_suffix(const std::string& question) const {
  const auto [before, after] =
      render_around_video(chat_template_, config_.system_prompt, placeholder_, question);
  if (before != prefix_text_) {
    throw std::invalid_argument("the question changed the prompt before the video: " + before);
  }
  return after;
}

std::vector<int32_t> VideoPipeline::question_ids(const std::string& question) const {
  return tokenizer_.encode(prompt_suffix(question), /*allow_special=*/true);
}

torch::Tensor VideoPipeline::question_embeddings(const std::vector<int32_t>& ids) const {
  const llm::Qwen2Model& language = model_.language_model();
  const torch::Tensor id_tensor =
      torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64)
          .to(language.device());
  // LLaVA-OneVision puts one image_newline after the whole video: it opens the question part.
  return torch::cat({model_.image_newline().unsqueeze(0), language.embed(id_tensor)}, 0);
}

std::unique_ptr<VideoStream> VideoPipeline::open_stream(
    std::unique_ptr<memory::SegmentStore> disk) const {
  torch::NoGradGuard no_grad;
  const llm::Qwen2Model& language = model_.language_model();
  const llm::Qwen2Config& text = language.config();
  const auto layers = static_cast<int>(text.num_layers);
  llm::ContiguousKvCache prefix(layers);
  const auto count = static_cast<int64_t>(prefix_ids_.size());
  const torch::Tensor ids =
      torch::tensor(std::vector<int64_t>(prefix_ids_.begin(), prefix_ids_.end()), torch::kInt64)
          .to(language.device());
  language.forward(language.embed(ids),
                   torch::arange(count, torch::dtype(torch::kInt64).device(language.device())),
                   prefix);
  memory::AttentionShape shape;
  shape.layers = text.num_layers;
  shape.attention_heads = text.num_heads;
  shape.kv_heads = text.num_kv_heads;
  shape.head_dim = text.head_dim;
  auto stream_memory = std::make_unique<memory::StreamMemory>(
      memory::SinkKv::capture(prefix, layers), shape, config_.memory, language.device(),
      language.dtype(), std::move(disk));
  return std::unique_ptr<VideoStream>(
      new VideoStream(std::move(stream_memory), config_.token_drop, count));
}

namespace {

// Marks a pipeline stage for a profiler's trace (bench/ingest_bench.cpp sums them) while it
// lives.
class Stage {
 public:
  explicit Stage(const char* name) : scope_(at::RecordScope::USER_SCOPE) {
    if (scope_.isActive()) scope_.before(name);
  }

 private:
  at::RecordFunction scope_;
};

}  // namespace

IngestStep VideoPipeline::ingest(VideoStream& stream,
                                 const std::vector<vision::RgbImageView>& frames,
                                 const std::vector<double>& times_seconds,
                                 double frame_seconds) const {
  return remember(stream, see(stream, frames, times_seconds, frame_seconds));
}

SeenFrames VideoPipeline::see(VideoStream& stream, const std::vector<vision::RgbImageView>& frames,
                              const std::vector<double>& times_seconds,
                              double frame_seconds) const {
  if (frames.size() != times_seconds.size()) {
    throw std::invalid_argument("ingest: " + std::to_string(frames.size()) + " frames but " +
                                std::to_string(times_seconds.size()) + " times");
  }
  SeenFrames seen;
  if (frames.empty()) return seen;
  torch::NoGradGuard no_grad;
  std::optional<vision::VideoTokens> video;
  {
    const Stage stage("vigil::ingest.encode_frames");
    video = model_.vision_encoder().encode_frames(frames);
  }
  const Stage stage("vigil::ingest.token_drop");
  const std::vector<vision::FrameTokenDrop> drops = stream.token_drop_.apply(video->tokens);
  IngestStep& step = seen.step;
  std::vector<torch::Tensor> kept_tokens;
  for (size_t f = 0; f < drops.size(); ++f) {
    const vision::FrameTokenDrop& drop = drops[f];
    step.tokens_in += drop.tokens_in;
    step.tokens_kept += drop.tokens_kept;
    step.drop_ratios.push_back(drop.drop_ratio());
    step.frame_tokens_in.push_back(drop.tokens_in);
    step.frame_tokens_kept.push_back(drop.tokens_kept);
    // A frame with nothing new leaves no block: its time is covered by the frames before.
    if (drop.tokens_kept == 0) continue;
    memory::FrameInfo info;
    info.index = stream.next_frame_ + static_cast<int64_t>(f);
    info.start_seconds = times_seconds[f];
    info.end_seconds = times_seconds[f] + frame_seconds;
    info.frame_tokens = drop.tokens_in;
    info.token_offsets = drop.kept_offsets.to(torch::kCPU);
    seen.kept_frames.push_back(std::move(info));
    kept_tokens.push_back(drop.kept_tokens);
  }
  step.frames = static_cast<int64_t>(frames.size());
  if (!kept_tokens.empty()) {
    seen.embeddings = torch::cat(kept_tokens, 0).to(model_.language_model().dtype());
  }
  seen.end_seconds = times_seconds.back() + frame_seconds;
  stream.next_frame_ += step.frames;
  return seen;
}

IngestStep VideoPipeline::remember(VideoStream& stream, const SeenFrames& seen) const {
  if (seen.step.frames == 0) return seen.step;
  torch::NoGradGuard no_grad;
  if (!seen.kept_frames.empty()) {
    const llm::Qwen2Model& language = model_.language_model();
    memory::StreamingKvCache& encoder = stream.memory().encoder();
    {
      const Stage stage("vigil::ingest.llm_forward");
      language.forward(seen.embeddings,
                       encoder.frame_positions(seen.kept_frames).to(language.device()), encoder);
    }
    const Stage stage("vigil::ingest.commit_frames");
    stream.memory().commit_frames(seen.kept_frames);
    stream.blocks_ += static_cast<int64_t>(seen.kept_frames.size());
  }
  stream.last_time_ = seen.end_seconds;
  // Frames that kept nothing are shown by the last block before them, for time windows.
  stream.memory().cover_until(stream.last_time_);
  return seen.step;
}

PreparedQuestion VideoPipeline::prepare(VideoStream& stream, const std::string& question,
                                        const memory::AnswerConfig& answer) const {
  if (stream.blocks() == 0) {
    throw std::invalid_argument("the stream has no video in memory yet");
  }
  torch::NoGradGuard no_grad;
  const llm::Qwen2Model& language = model_.language_model();
  const std::vector<int32_t> ids = question_ids(question);
  PreparedQuestion prepared;
  prepared.cache = stream.memory().answer_cache(answer);
  const torch::Tensor embeddings = question_embeddings(ids);
  // The whole question part in one forward (retrieval happens in it, per layer); the generator
  // starts by sampling its last token's logits.
  const int64_t prefilled = embeddings.size(0);
  const int64_t start = prepared.cache->question_position();
  const torch::Tensor hidden =
      language.forward(embeddings,
                       torch::arange(start, start + prefilled,
                                     torch::dtype(torch::kInt64).device(language.device())),
                       *prepared.cache);
  prepared.logits = language.logits(hidden.narrow(0, prefilled - 1, 1))[0];
  const int64_t context = prepared.cache->view(0).keys.size(1);
  prepared.video_tokens = context - stream.sink_tokens() - prefilled;
  prepared.prompt_tokens = context;
  return prepared;
}

torch::Tensor VideoPipeline::question_logits(VideoStream& stream, const std::string& question,
                                             const memory::AnswerConfig& answer) const {
  if (stream.blocks() == 0) {
    throw std::invalid_argument("the stream has no video in memory yet");
  }
  torch::NoGradGuard no_grad;
  const llm::Qwen2Model& language = model_.language_model();
  const std::unique_ptr<memory::AnswerKvCache> cache = stream.memory().answer_cache(answer);
  const torch::Tensor embeddings = question_embeddings(question_ids(question));
  const int64_t start = cache->question_position();
  const torch::Tensor hidden =
      language.forward(embeddings,
                       torch::arange(start, start + embeddings.size(0),
                                     torch::dtype(torch::kInt64).device(language.device())),
                       *cache);
  return language.logits(hidden);
}

}  // namespace vigil::service
