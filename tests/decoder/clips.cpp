#include "tests/decoder/clips.h"

#include <optional>
#include <stdexcept>

extern "C" {
#include <libavcodec/avcodec.h>
}

#include "tests/decoder/ffmpeg_cli.h"
#include "tests/support/test_support.h"

namespace vigil::testing {
namespace {

// How to make a clip: `ffmpeg [-i <source clip>] <arguments> <output>`.
struct Recipe {
  Recipe(std::string extension_, std::string arguments_, std::optional<Clip> source_ = {})
      : extension(std::move(extension_)), arguments(std::move(arguments_)), source(source_) {}
  std::string extension;
  std::string arguments;
  std::optional<Clip> source;  // remux of another clip (rotation metadata needs stream copy)
};

const std::string kTestSource = "-f lavfi -i testsrc2=size=";

std::string av1_encoder() {
  if (ffmpeg_has_encoder("libsvtav1")) return "libsvtav1 -preset 12";
  if (ffmpeg_has_encoder("libaom-av1")) return "libaom-av1 -cpu-used 8 -row-mt 1";
  return "";
}

Recipe recipe_of(Clip clip) {
  const std::string h264 = " -c:v libx264 -preset veryfast -pix_fmt yuv420p -bf 3";
  switch (clip) {
    case Clip::kH264Gop250:
      return {"mp4", kTestSource + "160x120:rate=25 -t 10.4" + h264 + " -g 250"};
    case Clip::kH264Gop25:
      return {"mp4", kTestSource + "320x240:rate=25 -t 3" + h264 + " -g 25"};
    case Clip::kH264SeveralGops:
      return {"mp4", kTestSource + "160x120:rate=25 -t 16" + h264 +
                         " -g 50 -keyint_min 50 -sc_threshold 0"};
    case Clip::kH264NonReferenceB:
      // A fixed pattern (no adaptive B-frames, no B-pyramid): display order I BBB P BBB P ...,
      // frame 100 a P; decode order I P4 B1 B2 B3 P8 B5 ..., so P100 is packet 97.
      return {"mp4",
              kTestSource + "160x120:rate=25 -frames:v 101" + h264 +
                  " -x264-params keyint=250:min-keyint=250:scenecut=0:b-adapt=0:b-pyramid=none"};
    case Clip::kHevc:
      return {"mp4",
              "-f lavfi -i mandelbrot=size=320x240:rate=25 -t 3 -c:v libx265 -preset ultrafast "
              "-x265-params log-level=error:keyint=30:bframes=3 -pix_fmt yuv420p"};
    case Clip::kVp9:
      return {"webm", kTestSource +
                          "320x240:rate=25 -t 3 -c:v libvpx-vp9 -deadline realtime "
                          "-cpu-used 8 -g 30"};
    case Clip::kAv1:
      return {"mp4",
              kTestSource + "160x96:rate=25 -t 2 -pix_fmt yuv420p -g 25 -c:v " + av1_encoder()};
    case Clip::kMpeg4Mp4:
      return {"mp4", kTestSource + "320x240:rate=25 -t 3 -c:v mpeg4 -bf 2 -g 30 -q:v 4"};
    case Clip::kMpeg4Avi:
      return {"avi", kTestSource + "320x240:rate=25 -t 3 -c:v mpeg4 -bf 2 -g 30 -q:v 4"};
    case Clip::kOpenGopTs:
      return {"ts", kTestSource + "320x240:rate=25 -t 3" + h264 +
                        " -x264-params open-gop=1:keyint=12:min-keyint=12:scenecut=0"};
    case Clip::kOpenGopMp4:
      return {"mp4", kTestSource + "320x240:rate=25 -t 3" + h264 +
                         " -x264-params open-gop=1:keyint=12:min-keyint=12:scenecut=0"};
    case Clip::kOpenGopLongMp4:
      // keyint 50, not a multiple of the mini-GOP, so that keyframes have leading pictures.
      return {"mp4", kTestSource + "192x144:rate=25 -t 6" + h264 +
                         " -x264-params open-gop=1:keyint=50:min-keyint=50:scenecut=0"};
    case Clip::kVariableFrameRate:
      // Frames 0, 4, 5, 10, ... /75 s: uneven spacing, and a third of a second missing
      // after frame 30.
      return {"mp4", kTestSource +
                         "320x240:rate=25 -t 4 -vf "
                         "\"settb=1/75,setpts='(3*N+mod(N,2)+gte(N,30)*25)/TB/75'\" "
                         "-fps_mode vfr -enc_time_base 1/75" +
                         h264};
    case Clip::kOddSizeVp9:
      return {"webm", kTestSource +
                          "321x239:rate=25 -t 2 -c:v libvpx-vp9 -deadline realtime "
                          "-cpu-used 8"};
    case Clip::kOddSizeH264Yuv444:
      return {"mp4",
              kTestSource + "321x239:rate=25 -t 2 -c:v libx264 -preset veryfast -pix_fmt yuv444p"};
    // Rotation metadata survives only a stream copy; any small H.264 clip will do.
    case Clip::kRotate90:
      return {"mp4", "-c copy -metadata:s:v:0 rotate=90", Clip::kPushFragmentedMp4};
    case Clip::kRotate180:
      return {"mp4", "-c copy -metadata:s:v:0 rotate=180", Clip::kPushFragmentedMp4};
    case Clip::kRotate270:
      return {"mp4", "-c copy -metadata:s:v:0 rotate=270", Clip::kPushFragmentedMp4};
    case Clip::kPushTs:
      return {"ts", kTestSource + "160x120:rate=25 -t 3" + h264 + " -g 25"};
    case Clip::kPushFragmentedMp4:
      return {"mp4", kTestSource + "160x120:rate=25 -t 3" + h264 +
                         " -g 25 -movflags frag_keyframe+empty_moov"};
    case Clip::kFaststartMp4:
      return {"mp4", "-c copy -movflags +faststart", Clip::kH264Gop25};
    case Clip::kAudioOnly:
      return {"m4a", "-f lavfi -i sine=frequency=440:duration=1 -c:a aac"};
  }
  throw std::logic_error("unknown clip");
}

}  // namespace

const char* clip_name(Clip clip) {
  switch (clip) {
    case Clip::kH264Gop250:
      return "h264_gop250";
    case Clip::kH264Gop25:
      return "h264_gop25";
    case Clip::kH264SeveralGops:
      return "h264_several_gops";
    case Clip::kH264NonReferenceB:
      return "h264_non_reference_b";
    case Clip::kHevc:
      return "hevc";
    case Clip::kVp9:
      return "vp9";
    case Clip::kAv1:
      return "av1";
    case Clip::kMpeg4Mp4:
      return "mpeg4_mp4";
    case Clip::kMpeg4Avi:
      return "mpeg4_avi";
    case Clip::kOpenGopTs:
      return "open_gop_ts";
    case Clip::kOpenGopMp4:
      return "open_gop_mp4";
    case Clip::kOpenGopLongMp4:
      return "open_gop_long_mp4";
    case Clip::kVariableFrameRate:
      return "variable_frame_rate";
    case Clip::kOddSizeVp9:
      return "odd_size_vp9";
    case Clip::kOddSizeH264Yuv444:
      return "odd_size_h264_yuv444";
    case Clip::kRotate90:
      return "rotate90";
    case Clip::kRotate180:
      return "rotate180";
    case Clip::kRotate270:
      return "rotate270";
    case Clip::kPushTs:
      return "push_ts";
    case Clip::kPushFragmentedMp4:
      return "push_fragmented_mp4";
    case Clip::kFaststartMp4:
      return "faststart_mp4";
    case Clip::kAudioOnly:
      return "audio_only";
  }
  return "unknown";
}

std::string clip_unavailable_reason(Clip clip) {
  if (clip != Clip::kAv1) return "";
  if (av1_encoder().empty()) return "ffmpeg -encoders lists neither libsvtav1 nor libaom-av1";
  if (avcodec_find_decoder(AV_CODEC_ID_AV1) == nullptr) return "libavcodec has no AV1 decoder";
  return "";
}

std::string clip_path(Clip clip) {
  const std::string reason = clip_unavailable_reason(clip);
  if (!reason.empty()) throw std::runtime_error(std::string(clip_name(clip)) + ": " + reason);
  const Recipe recipe = recipe_of(clip);
  std::string inputs;
  if (recipe.source.has_value()) inputs = "-i " + shell_quote(clip_path(*recipe.source)) + " ";
  const std::string command =
      std::string(kFfmpeg) + " -nostdin -v error -y " + inputs + recipe.arguments;
  const std::string file_name = std::string(clip_name(clip)) + "-" +
                                hash_text(command + "\n" + ffmpeg_identity()) + "." +
                                recipe.extension;
  return cached_file(file_name, [&](const std::string& temporary) {
    run_or_throw(command + " " + shell_quote(temporary));
  });
}

}  // namespace vigil::testing
