// The video-language path from a frame's arrival to an answer's last token, for one model:
//
//   frames --SiglipEncoder--> video tokens --DifferentialTokenDrop--> kept tokens
//          --Qwen2 forward on the stream's StreamingKvCache (sinks + window)--> KV blocks
//          --StreamMemory--> tiers + FAISS index
//   question --prefill on an AnswerKvCache (retrieves blocks per layer)--> generate
//
// The prompt is the model's chat template around one video: everything before the <video>
// placeholder (the system prompt and the user turn's opening) is encoded once per stream as
// its attention sinks; the frames follow; a question is the rest of the rendered prompt
// (LLaVA-OneVision: image_newline, then "\n{question}<|im_end|>\n<|im_start|>assistant\n").
// With token drop off, a window that holds everything and every block retrieved, the answer's
// logits equal a transformers forward over the whole prompt (tests/service).
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llm/chat_template.h"
#include "llm/generator.h"
#include "llm/tokenizer.h"
#include "memory/stream_memory.h"
#include "vision/llava_onevision_model.h"
#include "vision/token_drop.h"

namespace vigil::service {

struct VideoPipelineConfig {
  vision::TokenDropSettings token_drop;
  memory::StreamMemoryConfig memory;
  // The system message every stream's memory is encoded under (its sinks). Empty: none (the
  // template's own default, if any).
  std::string system_prompt = "You are a helpful assistant.";
};

// What one ingest() call did.
struct IngestStep {
  int64_t frames = 0;                      // frames taken in
  int64_t tokens_in = 0;                   // video tokens before token drop
  int64_t tokens_kept = 0;                 // kept and encoded into memory
  std::vector<double> drop_ratios;         // per frame, 0..1 (the scene-change signal)
  std::vector<int64_t> frame_tokens_in;    // per frame: tokens before token drop
  std::vector<int64_t> frame_tokens_kept;  // per frame: kept
};

// Frames that the vision encoder and the token drop have seen, not yet in the stream's memory
// (VideoPipeline::see, then VideoPipeline::remember).
struct SeenFrames {
  IngestStep step;                             // the counts; remember() returns it
  std::vector<memory::FrameInfo> kept_frames;  // frames that kept >= 1 token, in order
  torch::Tensor embeddings;  // [kept tokens, hidden] in the LLM's dtype; undefined if none
  double end_seconds = 0.0;  // when the last frame stops being shown
};

// One stream's state. Not thread-safe: the caller serialises ingest() and answers per stream.
class VideoStream {
 public:
  memory::StreamMemory& memory() { return *memory_; }
  const vision::DifferentialTokenDrop& token_drop() const { return token_drop_; }
  int64_t frames() const { return next_frame_; }        // frames taken in so far
  int64_t blocks() const { return blocks_; }            // frames that kept >= 1 token
  int64_t sink_tokens() const { return sink_tokens_; }  // the prompt prefix's tokens
  double last_time_seconds() const { return last_time_; }

 private:
  friend class VideoPipeline;
  VideoStream(std::unique_ptr<memory::StreamMemory> memory, vision::TokenDropSettings drop,
              int64_t sink_tokens)
      : memory_(std::move(memory)), token_drop_(drop), sink_tokens_(sink_tokens) {}
  std::unique_ptr<memory::StreamMemory> memory_;
  vision::DifferentialTokenDrop token_drop_;
  int64_t sink_tokens_ = 0;
  int64_t next_frame_ = 0;
  int64_t blocks_ = 0;
  double last_time_ = 0.0;
};

// The question part of a prompt, prefilled against a stream's memory.
struct PreparedQuestion {
  std::unique_ptr<memory::AnswerKvCache> cache;  // sinks + retrieved + recent + question
  torch::Tensor logits;       // fp32 [vocab]: the prompt's last token's, to sample first
  int64_t prompt_tokens = 0;  // sinks + video tokens in context + question tokens
  int64_t video_tokens = 0;   // of prompt_tokens
};

// Immutable after construction; methods are const and thread-safe across streams (the model
// is shared); each VideoStream is used by one call at a time.
class VideoPipeline {
 public:
  // Borrows model, tokenizer and chat_template (they outlive the pipeline). Throws
  // llm::TemplateError when the template has no <video> placeholder for a video part.
  VideoPipeline(const vision::LlavaOnevisionModel& model, const llm::Tokenizer& tokenizer,
                const llm::ChatTemplate& chat_template, VideoPipelineConfig config);

  // A new stream: encodes the prompt prefix into its sinks. disk: the stream's segment store
  // (null: no disk tier).
  std::unique_ptr<VideoStream> open_stream(std::unique_ptr<memory::SegmentStore> disk) const;

  // Encodes frames (RGB24, time order, after the stream's earlier frames) shown from
  // times_seconds[i] for frame_seconds each into the stream's memory: remember(see(...)).
  IngestStep ingest(VideoStream& stream, const std::vector<vision::RgbImageView>& frames,
                    const std::vector<double>& times_seconds, double frame_seconds) const;

  // Retrieves the stream's memory for `question` and prefills the prompt's rest in one
  // forward; the result holds its last token's logits for the generator to sample first.
  // Throws std::invalid_argument for a stream with no frames.
  PreparedQuestion prepare(VideoStream& stream, const std::string& question,
                           const memory::AnswerConfig& answer) const;
  // The logits [question tokens, vocab] of the prompt's rest (image_newline, the question and
  // the assistant turn's opening) against the stream's memory, fp32: for parity tests.
  torch::Tensor question_logits(VideoStream& stream, const std::string& question,
                                const memory::AnswerConfig& answer) const;

  const vision::LlavaOnevisionModel& model() const { return model_; }
  const llm::Tokenizer& tokenizer() const { return tokenizer_; }
  const VideoPipelineConfig& config() const { return config_; }
  // The prompt's text before and after the video for `question` (tests, logs).
  std::string prompt_prefix() const { return prefix_text_; }
  std::string prompt_suffix(const std::string& question) const;

 private:
  // The first half of ingest(): the vision encoder and the token drop, which depend only on
  // the stream's earlier frames, not on its memory.
  SeenFrames see(VideoStream& stream, const std::vector<vision::RgbImageView>& frames,
                 const std::vector<double>& times_seconds, double frame_seconds) const;
  // The second half: the language model encodes the kept tokens against the stream's window
  // and the blocks are committed to its memory.
  IngestStep remember(VideoStream& stream, const SeenFrames& seen) const;
  // Embeddings [1 + n, hidden] of image_newline and the question part's ids.
  torch::Tensor question_embeddings(const std::vector<int32_t>& ids) const;
  std::vector<int32_t> question_ids(const std::string& question) const;

  const vision::LlavaOnevisionModel& model_;
  const llm::Tokenizer& tokenizer_;
  const llm::ChatTemplate& chat_template_;
  VideoPipelineConfig config_;
  std::string placeholder_;  // the video token's text
  std::string prefix_text_;
  std::vector<int32_t> prefix_ids_;
};

}  // namespace vigil::service
