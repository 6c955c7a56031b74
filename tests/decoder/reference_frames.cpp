#include "tests/decoder/reference_frames.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

extern "C" {
#include <libavutil/md5.h>
}

#include "tests/decoder/ffmpeg_cli.h"
#include "tests/support/test_support.h"

namespace vigil::testing {
namespace {

// Part of the cache key: change it when the cached reference's layout changes.
constexpr const char* kReferenceFormat = "reference v2";

struct PipeCloser {
  void operator()(FILE* pipe) const { ::pclose(pipe); }
};
using Pipe = std::unique_ptr<FILE, PipeCloser>;

// key=value pairs of ffprobe's compact output, one map per line that has any.
std::vector<std::map<std::string, std::string>> parse_compact(const std::string& output) {
  std::vector<std::map<std::string, std::string>> lines;
  std::istringstream stream(output);
  std::string line;
  while (std::getline(stream, line)) {
    std::map<std::string, std::string> fields;
    std::istringstream parts(line);
    std::string part;
    while (std::getline(parts, part, '|')) {
      const size_t equals = part.find('=');
      if (equals != std::string::npos) fields[part.substr(0, equals)] = part.substr(equals + 1);
    }
    if (!fields.empty()) lines.push_back(std::move(fields));
  }
  return lines;
}

std::string rgb_command(const std::string& path) {
  return std::string(kFfmpeg) + " -nostdin -v error -i " + shell_quote(path) +
         " -map 0:v:0 -fps_mode passthrough -f rawvideo -pix_fmt rgb24 -";
}

// Calls on_frame(index, bytes) for every frame the CLI decodes; returns the frame count.
template <typename OnFrame>
int64_t for_each_cli_frame(const std::string& path, size_t frame_bytes, OnFrame on_frame) {
  Pipe pipe(::popen(rgb_command(path).c_str(), "r"));
  if (pipe == nullptr) throw std::runtime_error("cannot run ffmpeg");
  std::vector<uint8_t> frame(frame_bytes);
  int64_t count = 0;
  for (;;) {
    const size_t read = std::fread(frame.data(), 1, frame.size(), pipe.get());
    if (read == 0) break;
    if (read != frame.size()) throw std::runtime_error("ffmpeg output ends inside a frame");
    if (!on_frame(count, frame)) break;
    ++count;
  }
  return count;
}

Reference probe_layout(const std::string& path) {
  const auto streams = parse_compact(
      run_or_throw(std::string(kFfprobe) +
                   " -v error -select_streams v:0 -show_entries "
                   "stream=width,height,time_base:stream_side_data=rotation -of compact=p=0 " +
                   shell_quote(path)));
  Reference reference;
  bool found = false;
  for (const auto& fields : streams) {
    if (fields.count("width") != 0) {
      reference.width = std::stoi(fields.at("width"));
      reference.height = std::stoi(fields.at("height"));
      const std::string& time_base = fields.at("time_base");
      reference.time_base_num = std::stoi(time_base.substr(0, time_base.find('/')));
      reference.time_base_den = std::stoi(time_base.substr(time_base.find('/') + 1));
      found = true;
    }
    if (fields.count("rotation") != 0) {
      reference.rotation_degrees = ((-std::stoi(fields.at("rotation")) % 360) + 360) % 360;
    }
  }
  if (!found) throw std::runtime_error("ffprobe finds no video stream in " + path);
  if (reference.rotation_degrees % 180 == 90) std::swap(reference.width, reference.height);
  return reference;
}

Reference make_reference(const std::string& path) {
  Reference reference = probe_layout(path);
  const auto frames =
      parse_compact(run_or_throw(std::string(kFfprobe) +
                                 " -v error -select_streams v:0 -show_entries "
                                 "frame=best_effort_timestamp,pkt_duration -of compact=p=0 " +
                                 shell_quote(path)));
  for (const auto& fields : frames) {
    if (fields.count("best_effort_timestamp") == 0) continue;
    ReferenceFrame frame;
    const std::string& pts = fields.at("best_effort_timestamp");
    frame.pts_known = pts != "N/A";
    frame.pts = frame.pts_known ? std::stoll(pts) : 0;
    const auto duration = fields.find("pkt_duration");
    if (duration != fields.end() && duration->second != "N/A") {
      frame.duration = std::stoll(duration->second);
    }
    reference.frames.push_back(frame);
  }
  // A frame without a timestamp follows its predecessor at the last spacing (as a player,
  // and vigil, show it).
  for (size_t i = 0; i < reference.frames.size(); ++i) {
    ReferenceFrame& frame = reference.frames[i];
    if (frame.pts_known) continue;
    if (i == 0) throw std::runtime_error(path + ": the first frame has no timestamp");
    const int64_t spacing = i >= 2 ? reference.frames[i - 1].pts - reference.frames[i - 2].pts : 1;
    frame.pts = reference.frames[i - 1].pts + std::max<int64_t>(spacing, 1);
  }

  const size_t frame_bytes = static_cast<size_t>(reference.width) * reference.height * 3;
  const int64_t decoded =
      for_each_cli_frame(path, frame_bytes, [&](int64_t index, const std::vector<uint8_t>& rgb) {
        if (index < static_cast<int64_t>(reference.frames.size())) {
          reference.frames[static_cast<size_t>(index)].md5 = md5_hex(rgb.data(), rgb.size());
        }
        return true;
      });
  if (decoded != static_cast<int64_t>(reference.frames.size())) {
    throw std::runtime_error(path + ": ffmpeg decodes " + std::to_string(decoded) +
                             " frames but ffprobe lists " +
                             std::to_string(reference.frames.size()));
  }
  return reference;
}

void write_reference(const Reference& reference, const std::string& path) {
  std::ofstream file(path);
  file << reference.width << ' ' << reference.height << ' ' << reference.time_base_num << ' '
       << reference.time_base_den << ' ' << reference.rotation_degrees << ' '
       << reference.frames.size() << '\n';
  for (const ReferenceFrame& frame : reference.frames) {
    file << frame.pts << ' ' << frame.pts_known << ' ' << frame.duration << ' ' << frame.md5
         << '\n';
  }
  if (!file) throw std::runtime_error("cannot write " + path);
}

Reference read_reference(const std::string& path) {
  std::ifstream file(path);
  Reference reference;
  size_t count = 0;
  file >> reference.width >> reference.height >> reference.time_base_num >>
      reference.time_base_den >> reference.rotation_degrees >> count;
  reference.frames.resize(count);
  for (ReferenceFrame& frame : reference.frames) {
    file >> frame.pts >> frame.pts_known >> frame.duration >> frame.md5;
  }
  if (!file || count == 0) throw std::runtime_error("cannot read reference " + path);
  return reference;
}

int64_t floor_divide(__int128 numerator, __int128 denominator) {
  __int128 quotient = numerator / denominator;
  if ((numerator % denominator != 0) && ((numerator < 0) != (denominator < 0))) --quotient;
  return static_cast<int64_t>(quotient);
}

}  // namespace

int64_t Reference::end_pts() const {
  const ReferenceFrame& last = frames.back();
  int64_t duration = last.duration;
  if (duration <= 0 && frames.size() > 1) duration = last.pts - frames[frames.size() - 2].pts;
  return last.pts + std::max<int64_t>(duration, 1);
}

int64_t Reference::pts_at(const ExactTime& time) const {
  // time / (num / den) = time.numerator * den / (time.denominator * num)
  return first_pts() + floor_divide(static_cast<__int128>(time.numerator) * time_base_den,
                                    static_cast<__int128>(time.denominator) * time_base_num);
}

int64_t Reference::frame_at(const ExactTime& time) const {
  const int64_t target = pts_at(time);
  int64_t found = -1;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].pts <= target) found = static_cast<int64_t>(i);
  }
  return found;
}

const Reference& reference_for(const std::string& path) {
  static std::map<std::string, Reference> loaded;
  const auto known = loaded.find(path);
  if (known != loaded.end()) return known->second;

  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) throw std::runtime_error("no such file: " + path);
  const std::string key = std::string(kReferenceFormat) + "\n" + path + "\n" +
                          std::to_string(status.st_size) + "\n" +
                          std::to_string(status.st_mtim.tv_sec) + "." +
                          std::to_string(status.st_mtim.tv_nsec) + "\n" + ffmpeg_identity();
  const std::string cache = cached_file(
      "reference-" + std::filesystem::path(path).filename().string() + "-" + hash_text(key) +
          ".txt",
      [&](const std::string& temporary) { write_reference(make_reference(path), temporary); });
  return loaded.emplace(path, read_reference(cache)).first->second;
}

std::vector<uint8_t> reference_frame_rgb(const std::string& path, int64_t frame_index) {
  const Reference& reference = reference_for(path);
  const size_t frame_bytes = static_cast<size_t>(reference.width) * reference.height * 3;
  std::vector<uint8_t> found;
  for_each_cli_frame(path, frame_bytes, [&](int64_t index, const std::vector<uint8_t>& rgb) {
    if (index != frame_index) return true;
    found = rgb;
    return false;
  });
  return found;
}

std::string md5_hex(const uint8_t* data, size_t size) {
  uint8_t digest[16];
  av_md5_sum(digest, data, size);
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (const uint8_t byte : digest) {
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 15];
  }
  return hex;
}

}  // namespace vigil::testing
