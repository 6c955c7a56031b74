#!/usr/bin/env bash
# The one script run on the GPU machine (Ubuntu 24.04, 16 cores, no network), in one call of
# the device tool with `.gpu` carried (fill it first with tools/prepare_gpu_media.sh):
#   tools/gpu_check.sh
# 1. unpacks FFmpeg 5.1.9 (.gpu/ffmpeg-5.1.9-ubuntu24.tgz) into /opt (../shared/gpu/README.md),
# 2. builds vigil and vigil_loop_video (Release) in build-gpu/, reused while the machine is warm,
# 3. loops the carried segments (.gpu/bench-media) into the benchmark clips,
# 4. runs bench/decode_bench.py: vigil at 1, 2, 4, 8, 16 workers against the peers present
#    there (the carried static ffmpeg CLI, .gpu/ffmpeg-cli-5.1.9-static.gz; OpenCV from pip,
#    with its own bundled FFmpeg; PyAV is not installed there and is skipped).
# Results land in $OUT (the device tool brings them back): decode_bench.md, decode_bench.json,
# gpu_check.log. Runs in about 8 minutes; VIGIL_GPU_CHECK_SECONDS (default 460) caps the whole
# script: benchmark runs that would end after it (estimated from the runs before) are skipped
# and reported as such, (a) first.
#
# Dry run on another machine with its own FFmpeg and shorter clips:
#   VIGIL_FFMPEG_PREFIX=system VIGIL_BENCH_DURATION_SCALE=0.2 OUT=/tmp/out tools/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
budget=${VIGIL_GPU_CHECK_SECONDS:-460}
out=${OUT:-$PWD/build-gpu/out}
mkdir -p "$out"
exec > >(tee -a "$out/gpu_check.log") 2>&1
jobs=$(nproc)
echo "== $(date -Is) on $(uname -n): nproc $jobs, $(lscpu | sed -n 's/^Model name: *//p')," \
  "$(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core, cgroup cpu.max" \
  "'$(cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo none)'"

echo "== FFmpeg 5.1.9 libraries"
ffmpeg_prefix=${VIGIL_FFMPEG_PREFIX:-/opt/ffmpeg}
if [[ $ffmpeg_prefix != system ]]; then
  # The tarball's pkg-config files name /opt/ffmpeg: it must be unpacked there.
  if [[ ! -f $ffmpeg_prefix/lib/pkgconfig/libavcodec.pc ]]; then
    tar xzf .gpu/ffmpeg-5.1.9-ubuntu24.tgz -C "$(dirname "$ffmpeg_prefix")"
  fi
  export PKG_CONFIG_PATH=$ffmpeg_prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
  export LD_LIBRARY_PATH=$ffmpeg_prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
pkg-config --modversion libavcodec

echo "== build vigil (Release, tests off)"
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=ON)
command -v ninja >/dev/null && cmake_args+=(-G Ninja)
# libtorch comes with the machine's PyTorch package; FAISS, if carried, as Debian's package.
if torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null); then
  cmake_args+=("-DCMAKE_PREFIX_PATH=$torch_prefix")
fi
faiss_deb=$(ls .gpu/libfaiss-dev_*_amd64.deb 2>/dev/null | head -1 || true)
if [[ -n $faiss_deb ]]; then
  [[ -d /opt/deps/usr ]] || dpkg -x "$faiss_deb" /opt/deps
  export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/opt/deps/usr/lib/x86_64-linux-gnu
  cmake_args+=(-Dfaiss_DIR=/opt/deps/usr/lib/x86_64-linux-gnu/cmake/faiss)
fi
cmake -S . -B build-gpu "${cmake_args[@]}" >"$out/cmake-configure.txt" 2>&1 ||
  { tail -40 "$out/cmake-configure.txt"; exit 1; }
rm -f "$out/cmake-configure.txt"
cmake --build build-gpu -j "$jobs" --target vigil vigil_loop_video
echo "   built in $((SECONDS - started)) s"

echo "== benchmark clips from the carried segments"
media=build-gpu/bench-media
mkdir -p "$media"
clips=()
for clip in ${VIGIL_BENCH_CLIPS:-a c b}; do  # (a) first: the targets are set on it
  for segment in .gpu/bench-media/segment_"$clip"_*.mp4; do
    [[ -f $segment ]] || continue
    cp -u "$segment" "$media"/
    clips+=("$clip")
    break
  done
done
((${#clips[@]})) || { echo "no segments in .gpu/bench-media: run tools/prepare_gpu_media.sh"; exit 1; }
peer_ffmpeg=$PWD/build-gpu/ffmpeg-cli
if [[ -f .gpu/ffmpeg-cli-5.1.9-static.gz ]]; then
  gzip -dc .gpu/ffmpeg-cli-5.1.9-static.gz >"$peer_ffmpeg" && chmod +x "$peer_ffmpeg"
  "$peer_ffmpeg" -hide_banner -version | head -1
fi

echo "== decode benchmark, clips ${clips[*]} (budget $((budget - (SECONDS - started))) s left)"
export PYTHONUNBUFFERED=1
clip_list=$(IFS=,; echo "${clips[*]}")
python3 bench/decode_bench.py --clips "$clip_list" --workers "${VIGIL_BENCH_WORKERS:-1,2,4,8,16}" --media-dir "$media" \
  --duration-scale "${VIGIL_BENCH_DURATION_SCALE:-1}" \
  --vigil build-gpu/service/vigil --ffmpeg "$peer_ffmpeg" --peers ffmpeg,pyav,opencv \
  --skip-missing-peers --time-budget $((budget - (SECONDS - started) - 10)) \
  --json-out "$out/decode_bench.json" --markdown-out "$out/decode_bench.md" || status=$?
echo "== gpu_check done in $((SECONDS - started)) s (decode_bench exit ${status:-0})"
exit "${status:-0}"
