// The synthetic clips of the decoder tests: lavfi sources (testsrc2, mandelbrot, sine)
// encoded by the ffmpeg CLI, tiny (at most 320x240, a few seconds, fast presets), each made
// once and cached (ffmpeg_cli.h). Real sample videos come from tests/support.
#pragma once

#include <string>

namespace vigil::testing {

enum class Clip {
  kH264Gop250,         // H.264, 3 B-frames, GOP 250, 10.4 s at 25 fps: two GOPs, 160x120
  kH264Gop25,          // H.264, 3 B-frames, GOP 25, 3 s, 320x240
  kH264SeveralGops,    // H.264, 3 B-frames, GOP 50 (no scene cuts), 16 s, 160x120: 8 GOPs
  kH264NonReferenceB,  // H.264, 101 frames I BBB P BBB P ... P, every B non-reference, 160x120
  kHevc,               // HEVC (libx265), mandelbrot, keyint 30, 3 s, 320x240
  kVp9,                // VP9 (libvpx-vp9) in WebM, 3 s, 320x240
  kAv1,                // AV1 (libsvtav1 or libaom-av1) in MP4, 2 s, 160x96
  kMpeg4Mp4,           // MPEG-4 part 2 with B-frames in MP4 (timestamps per packet)
  kMpeg4Avi,           // the same in AVI (packed B-frames, no presentation timestamps)
  kOpenGopTs,          // H.264 open GOP (keyint 12, 3 B-frames) in MPEG-TS, 3 s, 320x240
  kOpenGopMp4,         // the same in MP4
  kOpenGopLongMp4,     // H.264 open GOP, keyint 50, 6 s, 192x144: GOPs long enough to split
  kVariableFrameRate,  // H.264 with uneven frame spacing and a gap, time base 1/75
  kOddSizeVp9,         // VP9 at 321x239
  kOddSizeH264Yuv444,  // H.264 High 4:4:4 at 321x239
  kRotate90,           // H.264 208x120 MP4 with rotate=90 display metadata
  kRotate180,
  kRotate270,
  kPushTs,             // H.264 160x120, 3 B-frames, GOP 25, 3 s, in MPEG-TS
  kPushFragmentedMp4,  // the same in fragmented MP4 (frag_keyframe+empty_moov)
  kFaststartMp4,       // kH264Gop25 with its index (moov) first, as streaming sites serve MP4
  kAudioOnly,          // AAC sine in M4A: no video stream
};

// A short name for test names and messages, e.g. "h264_gop250".
const char* clip_name(Clip clip);

// Why this clip cannot be made here (a missing encoder or decoder), or "" when it can.
std::string clip_unavailable_reason(Clip clip);

// The clip's path, made first if the cache lacks it. Throws std::runtime_error when ffmpeg
// fails.
std::string clip_path(Clip clip);

}  // namespace vigil::testing
