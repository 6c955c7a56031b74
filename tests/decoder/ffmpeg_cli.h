// The ffmpeg and ffprobe command-line tools (Debian's /usr/bin) as the decoder tests' clip
// maker and reference, and the cache that keeps what they make. ctest runs every test in its
// own process, so generated files live in a folder of the build tree shared by all of them,
// keyed by the command that made them and the ffmpeg version.
#pragma once

#include <functional>
#include <string>

namespace vigil::testing {

constexpr const char* kFfmpeg = "/usr/bin/ffmpeg";
constexpr const char* kFfprobe = "/usr/bin/ffprobe";

// Runs a shell command with standard error merged into its output; returns the output.
// Throws std::runtime_error carrying the command and its output when it exits non-zero.
std::string run_or_throw(const std::string& shell_command);

// Identifies the ffmpeg CLI for cache keys without running it (ctest starts a process per
// test): the FFmpeg release of the libraries both link (Debian builds the CLI and libav*
// from one source) plus the size and time of the CLI binary.
const std::string& ffmpeg_identity();
// Whether `ffmpeg -encoders` lists an encoder of this name (e.g. "libsvtav1").
bool ffmpeg_has_encoder(const std::string& encoder_name);

// 16 hex digits of a 64-bit FNV-1a hash of text (cache keys, not security).
std::string hash_text(const std::string& text);

// The path of cache entry `file_name`, made by make(temporary_path) when missing. Safe
// across processes: a lock file serialises makers and the entry appears by rename, so a
// reader never sees half a file. make throws to report failure (nothing is cached then).
std::string cached_file(const std::string& file_name,
                        const std::function<void(const std::string& temporary_path)>& make);

}  // namespace vigil::testing
