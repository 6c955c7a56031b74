#!/usr/bin/env bash
# Builds a minimal, fully static ffmpeg CLI (FFmpeg 5.1.9 from Debian 12's source package,
# the version of the libav* that vigil links here and on the GPU machine) for one job: the
# ffmpeg-CLI peer of bench/decode_bench.py on the GPU machine, which has no ffmpeg CLI and no
# network. It decodes H.264/HEVC in MP4/Matroska, runs the fps/scale filters and writes raw
# video or nothing; with x86 assembly (nasm), as Debian's own ffmpeg.
#
# Usage: tools/build_static_ffmpeg_cli.sh [OUTPUT]   (default build-static-ffmpeg/ffmpeg)
# Needs: network to deb.debian.org (source package and nasm, fetched with a private apt
# configuration under the work folder: nothing is installed system-wide), dpkg-dev, gcc, make.
# About 4 minutes on 2 cores. The binary runs on any x86-64 Linux (glibc linked statically).
set -euo pipefail
cd "$(dirname "$0")/.."
work=${VIGIL_FFMPEG_BUILD_DIR:-$PWD/build-static-ffmpeg}
output=$(realpath -m "${1:-$work/ffmpeg}")
version=5.1.9-0+deb12u1
jobs=${JOBS:-$(nproc)}
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$(dirname "$output")"
cd "$work"

if [[ ! -d ffmpeg-5.1.9 ]]; then
  cat >sources.list <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian-security bookworm-security main
deb-src http://deb.debian.org/debian-security bookworm-security main
EOF
  apt=(apt-get -q -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
       -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
       -o APT::Sandbox::User=root)
  "${apt[@]}" update
  "${apt[@]}" source --download-only "ffmpeg=7:$version"
  "${apt[@]}" download nasm
  dpkg-source -x "ffmpeg_$version.dsc" ffmpeg-5.1.9  # applies Debian's patches
  dpkg -x nasm_*_amd64.deb nasm
fi

cd ffmpeg-5.1.9
if [[ ! -f ffbuild/config.mak ]]; then
  # Only what the benchmark peer needs; ffmpeg itself selects the filters it always inserts.
  ./configure --prefix="$work/prefix" --x86asmexe="$work/nasm/usr/bin/nasm" \
    --disable-everything --disable-autodetect --disable-doc --disable-debug --disable-network \
    --disable-programs --enable-ffmpeg --disable-avdevice --disable-postproc \
    --enable-static --disable-shared --extra-ldflags=-static \
    --enable-decoder=h264,hevc --enable-parser=h264,hevc \
    --enable-demuxer=mov,matroska --enable-protocol=file,pipe \
    --enable-filter=fps,scale,format,null,copy,setpts,transpose,hflip,vflip \
    --enable-encoder=rawvideo,wrapped_avframe --enable-muxer=rawvideo,null
fi
make -j"$jobs" ffmpeg
strip -o "$output" ffmpeg
"$output" -hide_banner -version | head -1
echo "build_static_ffmpeg_cli: $output ($(du -h "$output" | cut -f1))"
