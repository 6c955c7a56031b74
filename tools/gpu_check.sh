#!/usr/bin/env bash
# The one script run on the GPU machine (Ubuntu 24.04, 16 cores, no network), in one call of
# the device tool with `.gpu` carried (fill it first with tools/prepare_gpu_media.sh):
#   tools/gpu_check.sh
# 1. unpacks FFmpeg 5.1.9 (.gpu/ffmpeg-5.1.9-ubuntu24.tgz) into /opt (../shared/gpu/README.md),
# 2. builds vigil and vigil_loop_video (Release) in build-gpu/, reused while the machine is warm,
# 3. loops the carried segments (.gpu/bench-media) into the benchmark clips,
# 4. runs the sections named in VIGIL_GPU_SECTIONS (default "parity,vision,memory,decode"):
#    parity  tools/cuda_parity.py: vigil CUDA bf16 vs transformers bf16 on the tiny fixtures
#            (Qwen2 text models and LLaVA-OneVision with its video);
#    vision  bench/vision_bench.cpp vs bench/vision_bench_transformers.py (SigLIP-so400m +
#            projector + pooling, LLaVA-OneVision-7B shapes, random weights, batch 1/16/64);
#    llm     bench/llm_bench.cpp vs bench/llm_bench_transformers.py (Qwen2-7B shapes, random
#            weights written once by tools/make_random_checkpoint.py to $VIGIL_LLM_CHECKPOINT,
#            default /tmp/qwen2-7b-random): prefill 1k/8k/32k, decode batch 1 and 16 at 4k;
#    memory  bench/kv_quant_bench.cpp (bytes per frame per setting, quantize throughput) and
#            bench/memory_bench.cpp (retrieval + fetch at 1 h and 10 h of 1-fps blocks);
#    answer  bench/answer_bench.cpp (time to first token after 1 h and 10 h of stream, GPU
#            memory per stream, our full-context path) vs bench/answer_bench_transformers.py
#            (full-context recompute up to the longest prompt that fits), same 7B checkpoint;
#    load    bench/gpu_load_bench.py (issue 6): one `vigil serve` on a random LLaVA-OneVision-7B
#            checkpoint ($VIGIL_LOAD_CHECKPOINT, default /tmp/llava-ov-7b-random), realtime
#            sessions 1/8/32/64 (ingest frames/s, time to first token), then archived ingestion
#            frames/s at a measured token drop; load_bench.md and .json; media in .gpu/load;
#    ingest  bench/ingest_bench.cpp: frames/s of VideoPipeline::ingest on the same random
#            LLaVA-OneVision-7B checkpoint (1 and 4 streams, 1, 8 and 32 frames per step),
#            per-stage times and a profile (VIGIL_INGEST_PROFILE_STEP frames per step, default
#            32); VIGIL_INGEST_BENCH_ARGS replaces its arguments;
#    tests   the unit tests whose CUDA branches a CPU machine skips, on the card: memory_tests
#            (quantizer bounds on CUDA), stream_memory_tests (the retrieval index with its keys
#            on the card, within and beyond its GPU budget; tiers), siglip_encoder_tests (the
#            device preprocessor, the encoder); built with tests on in build-gpu-tests/;
#    decode  bench/decode_bench.py: vigil at 1, 2, 4, 8, 16 workers against the peers present
#            there (the carried static ffmpeg CLI, .gpu/ffmpeg-cli-5.1.9-static.gz; OpenCV from
#            pip, with its own bundled FFmpeg; PyAV is not installed there and is skipped).
# .gpu/debs/*.deb (Debian's libfaiss-dev, libzstd-dev, libutf8proc) are unpacked into /opt/deps.
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

echo "== Debian packages carried in .gpu/debs -> /opt/deps"
deps=/opt/deps/usr/lib/x86_64-linux-gnu
for deb in .gpu/debs/*.deb; do
  [[ -f $deb ]] && dpkg -x "$deb" /opt/deps
done
if [[ -d $deps/pkgconfig ]]; then
  sed -i 's|^prefix=/usr$|prefix=/opt/deps/usr|' "$deps"/pkgconfig/*.pc
  export PKG_CONFIG_PATH=$deps/pkgconfig:$PKG_CONFIG_PATH
fi
# A -dev package's libX.so points at the runtime package's file: use the machine's own.
for link in "$deps"/*.so; do
  [[ -L $link && ! -e $link ]] || continue
  system=$(ls /usr/lib/x86_64-linux-gnu/"$(basename "$link")".[0-9]* 2>/dev/null | head -1 || true)
  [[ -n $system ]] && ln -sf "$system" "$link"
done
export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$deps
export CPATH=/opt/deps/usr/include${CPATH:+:$CPATH}

sections=${VIGIL_GPU_SECTIONS:-parity,vision,memory,decode}
echo "== build vigil and the benchmarks (Release, CUDA, tests off); sections: $sections"
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=ON -DVIGIL_ENABLE_CUDA=ON)
command -v ninja >/dev/null && cmake_args+=(-G Ninja)
# libtorch comes with the machine's PyTorch package.
if torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null); then
  cmake_args+=("-DCMAKE_PREFIX_PATH=$torch_prefix")
fi
[[ -d $deps/cmake/faiss ]] && cmake_args+=(-Dfaiss_DIR=$deps/cmake/faiss)
cmake -S . -B build-gpu "${cmake_args[@]}" >"$out/cmake-configure.txt" 2>&1 ||
  { tail -40 "$out/cmake-configure.txt"; exit 1; }
rm -f "$out/cmake-configure.txt"
# VIGIL_GPU_TARGETS narrows the build to what the chosen sections run.
cmake --build build-gpu -j "$jobs" --target ${VIGIL_GPU_TARGETS:-vigil vigil_loop_video \
  vigil_vision_bench vigil_memory_bench vigil_kv_quant_bench vigil_llm_bench vigil_answer_bench \
  vigil_ingest_bench}
echo "   built in $((SECONDS - started)) s"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
has() { [[ ",$sections," == *",$1,"* ]]; }

if has parity; then
  echo "== CUDA bf16 parity against transformers (tools/cuda_parity.py)"
  python3 tools/cuda_parity.py --vigil build-gpu/service/vigil --fixtures tests/fixtures \
    2>&1 | grep -v Warning | tee "$out/cuda_parity.txt" || status=$?
fi
if has vision; then
  echo "== vision benchmark: vigil vs transformers, LLaVA-OneVision-7B vision shapes"
  build-gpu/bench/vigil_vision_bench --device cuda --dtype bf16 --batches 1,16,64 \
    --iterations 10 --layers 27 2>&1 | tee "$out/vision_bench.txt" || status=$?
  python3 bench/vision_bench_transformers.py --layers 27 --batches 1,16,64 --iterations 10 \
    2>&1 | grep -v Warning | tail -12 | tee "$out/vision_bench_transformers.txt" || status=$?
  echo "-- where the time goes: one profiled pass at batch 64 (CUDA_LAUNCH_BLOCKING=1)"
  CUDA_LAUNCH_BLOCKING=1 build-gpu/bench/vigil_vision_bench --device cuda --dtype bf16 \
    --batches 64 --iterations 1 --layers 27 --profile "$out/vision_trace.json" >/dev/null 2>&1 &&
    python3 tools/summarize_trace.py "$out/vision_trace.json" --top 20 |
    tee "$out/vision_profile.txt" || status=$?
  rm -f "$out/vision_trace.json"
fi
if has tests; then
  echo "== unit tests with CUDA branches, on the card"
  test_args=("${cmake_args[@]/-DVIGIL_BUILD_TESTS=OFF/-DVIGIL_BUILD_TESTS=ON}")
  if cmake -S . -B build-gpu-tests "${test_args[@]}" -DVIGIL_BUILD_BENCH=OFF \
      >"$out/tests-build.txt" 2>&1 &&
    cmake --build build-gpu-tests -j "$jobs" --target memory_tests stream_memory_tests model_tests \
      siglip_encoder_tests >>"$out/tests-build.txt" 2>&1; then
    rm -f "$out/tests-build.txt"
    for binary in memory/memory_tests memory/stream_memory_tests vision/siglip_encoder_tests \
      model/model_tests; do
      test_status=0
      build-gpu-tests/tests/$binary --gtest_brief=1 >>"$out/gpu_tests.txt" 2>&1 || test_status=$?
      tail -4 "$out/gpu_tests.txt"
      if ((test_status != 0)); then
        status=$test_status
        echo "-- $binary exited $test_status; its libraries and, with gdb, where it stopped:"
        ldd build-gpu-tests/tests/$binary | grep -Ei 'gtest|torch|c10|stdc|not found' || true
        # gdb, else CUDA's cuda-gdb (a gdb that the CUDA toolkit brings).
        debugger=$(command -v gdb || ls /usr/local/cuda*/bin/cuda-gdb 2>/dev/null | head -1 || true)
        [[ -n $debugger ]] &&
          "$debugger" -batch -ex run -ex bt --args build-gpu-tests/tests/$binary --gtest_brief=1 \
            2>&1 | tail -25 || true
      fi
    done
  else
    tail -30 "$out/tests-build.txt"
    status=1
  fi
fi
if has llm || has answer; then
  checkpoint=${VIGIL_LLM_CHECKPOINT:-/tmp/qwen2-7b-random}
  [[ -f $checkpoint/config.json ]] ||
    python3 tools/make_random_checkpoint.py --out "$checkpoint" 2>&1 | grep -v Warning || status=$?
fi
if has answer; then
  echo "== answer benchmark: time to first token from memory; recompute curve vs transformers"
  build-gpu/bench/vigil_answer_bench --model "$checkpoint" --frames "${VIGIL_ANSWER_FRAMES:-3600,36000}" \
    --exact 32,256,512 --questions 20 ${VIGIL_ANSWER_BENCH_ARGS:-} 2>&1 | tee "$out/answer_bench.txt" || status=$?
  python3 bench/answer_bench_transformers.py --model "$checkpoint" --frames 32,256,512,768 2>&1 |
    grep -v Warning | tee "$out/answer_bench_transformers.txt" || status=$?
fi
if has llm; then
  echo "== LLM benchmark: vigil vs transformers, Qwen2-7B shapes, random weights"
  build-gpu/bench/vigil_llm_bench --model "$checkpoint" ${VIGIL_LLM_BENCH_ARGS:-} 2>&1 |
    tee "$out/llm_bench.txt" || status=$?
  python3 bench/llm_bench_transformers.py --model "$checkpoint" ${VIGIL_LLM_BENCH_ARGS:-} 2>&1 |
    grep -v Warning | tee "$out/llm_bench_transformers.txt" || status=$?
fi
if has memory; then
  echo "== memory benchmarks: KV bytes per frame and quantization; retrieval at 1 h and 10 h"
  build-gpu/bench/vigil_kv_quant_bench --device cuda 2>&1 | tee "$out/kv_quant_bench.txt" ||
    status=$?
  build-gpu/bench/vigil_memory_bench --blocks 3600,36000 2>&1 | tee "$out/memory_bench.txt" ||
    status=$?
fi
if has ingest || has load; then
  load_checkpoint=${VIGIL_LOAD_CHECKPOINT:-/tmp/llava-ov-7b-random}
  if [[ ! -f $load_checkpoint/config.json && -f .gpu/load/qwen-tokenizer.json.xz ]]; then
    timeout 400 python3 tools/make_random_checkpoint.py --model llava-onevision-7b \
      --tokenizer .gpu/load/qwen-tokenizer.json.xz --out "$load_checkpoint" 2>&1 |
      grep -v Warning || status=$?
  fi
fi
if has ingest; then
  echo "== ingest benchmark: VideoPipeline::ingest, LLaVA-OneVision-7B shapes, service defaults"
  build-gpu/bench/vigil_ingest_bench --model "$load_checkpoint" --device cuda --dtype bf16 \
    ${VIGIL_INGEST_BENCH_ARGS:---frames 448 --steps 1,8,32 --streams 1,4 --stage-times 1} 2>&1 |
    tee "$out/ingest_bench.txt" || status=$?
  profile_step=${VIGIL_INGEST_PROFILE_STEP:-32}
  echo "-- where the time goes: 32 frames profiled after 448, a full window, $profile_step per step" \
    "(CUDA_LAUNCH_BLOCKING=1)"
  CUDA_LAUNCH_BLOCKING=1 build-gpu/bench/vigil_ingest_bench --model "$load_checkpoint" \
    --device cuda --dtype bf16 --frames 448 --steps "$profile_step" --streams 1 \
    --profile "$out/ingest_trace.json" >/dev/null 2>&1 &&
    python3 tools/summarize_trace.py "$out/ingest_trace.json" --top 40 |
    tee "$out/ingest_profile.txt" || status=$?
  rm -f "$out/ingest_trace.json"
fi
if has load; then
  # Issue 6: one `vigil serve` (CUDA bf16) on a random LLaVA-OneVision-7B checkpoint; realtime
  # sessions 1/8/32/64 (bench/realtime_load_bench.py --url), then archived ingestion frames/s
  # and its measured token drop (bench/gpu_load_bench.py; load_bench.md / .json in $OUT).
  # Its media and Qwen's tokenizer come made in .gpu/load (no libx264 here):
  #   bench/gpu_load_bench.py --prepare .gpu/load; Debian's python3-websockets in .gpu/debs.
  # VIGIL_LOAD_SESSIONS, VIGIL_LOAD_DURATION and VIGIL_LOAD_BENCH_ARGS adjust it.
  echo "== load benchmark: realtime sessions and archived ingestion, LLaVA-OneVision-7B shapes"
  if [[ ! -f .gpu/load/qwen-tokenizer.json.xz ]]; then
    echo "no .gpu/load: run bench/gpu_load_bench.py --prepare .gpu/load first"; status=1
  else
    echo "   checkpoint ready at $((SECONDS - started)) s"
    load_budget=$((budget - (SECONDS - started) - 20))
    [[ -f $load_checkpoint/config.json ]] &&
      PYTHONPATH=/opt/deps/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH} \
        PYTHONUNBUFFERED=1 timeout $((load_budget + 90)) python3 bench/gpu_load_bench.py \
        --vigil build-gpu/service/vigil --model "$load_checkpoint" --device cuda --dtype bf16 \
        --sessions "${VIGIL_LOAD_SESSIONS:-1,8,32,64}" --duration "${VIGIL_LOAD_DURATION:-45}" \
        --media-dir .gpu/load --time-budget "$load_budget" --out "$out" \
        ${VIGIL_LOAD_BENCH_ARGS:-} || status=$?
  fi
fi
if ! has decode; then
  echo "== gpu_check done in $((SECONDS - started)) s (exit ${status:-0})"
  exit "${status:-0}"
fi

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
