#!/usr/bin/env bash
# Fills .gpu/ (git-ignored; the device tool carries it to the GPU machine) with what
# tools/gpu_check.sh needs there and that machine lacks: no network, no ffmpeg CLI, no x264/x265.
#   .gpu/ffmpeg-5.1.9-ubuntu24.tgz   FFmpeg 5.1.9 shared libraries built for Ubuntu 24.04
#                                    (copied from ../shared/gpu, see its README.md)
#   .gpu/bench-media/segment_*.mp4   the encoded segments bench/decode_bench.py loops into its
#                                    clips: 60 s 1080p and 30 s 720p H.264 at 2.5 Mb/s, 10 s 4K
#                                    HEVC at 8 Mb/s (about 36 MiB), encoded here once and cached
#   .gpu/ffmpeg-cli-5.1.9-static.gz  a static minimal ffmpeg CLI (1.9 MB), the benchmark's
#                                    ffmpeg peer (tools/build_static_ffmpeg_cli.sh, built once)
#   .gpu/load/                       the load benchmark's clips and Qwen's tokenizer (about
#                                    10 MiB, bench/gpu_load_bench.py --prepare)
#   .gpu/debs/python3-websockets_*   the load benchmark's WebSocket client (pure Python)
# Usage: tools/prepare_gpu_media.sh        Needs: tools/install_deps.sh done here.
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${VIGIL_SHARED_DIR:-../shared}
media=${VIGIL_BENCH_MEDIA:-build/bench-media}
mkdir -p .gpu/bench-media

install -C -m 644 "$shared/gpu/ffmpeg-5.1.9-ubuntu24.tgz" .gpu/
# Only the segments of the current recipe: decode_bench.py prints their paths.
rm -f .gpu/bench-media/segment_*.mp4
/usr/bin/python3 bench/decode_bench.py --prepare-only --segments-only --media-dir "$media" |
  while read -r segment; do cp "$segment" .gpu/bench-media/; done
cli=build-static-ffmpeg/ffmpeg
[[ -x $cli ]] || tools/build_static_ffmpeg_cli.sh "$cli"
gzip -9 -c "$cli" >.gpu/ffmpeg-cli-5.1.9-static.gz
/usr/bin/python3 bench/gpu_load_bench.py --prepare .gpu/load
mkdir -p .gpu/debs
ls .gpu/debs/python3-websockets_*.deb >/dev/null 2>&1 ||
  (cd .gpu/debs && apt-get download python3-websockets)

git check-ignore -q .gpu/ || { echo "prepare_gpu_media: .gpu/ is not git-ignored" >&2; exit 1; }
du -ah .gpu/ffmpeg-5.1.9-ubuntu24.tgz .gpu/ffmpeg-cli-5.1.9-static.gz .gpu/bench-media .gpu/load
# The device tool carries 64 MiB at most with the tree: name what the sections need, e.g.
# carry=[".gpu/ffmpeg-5.1.9-ubuntu24.tgz", ".gpu/debs", ".gpu/load"] for `load`.
echo "prepare_gpu_media: .gpu/ holds $(du -sh .gpu | cut -f1); carry the parts a section needs"
