#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds vigil and runs its main job as far as it exists:
# probe a real sample video, then decode it at 1 frame/s to 384x384 RGB and report.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF >/dev/null
cmake --build build --target vigil
sample=${1:-/usr/share/doc/opencv-doc/examples/data/vtest.avi}
out=${VIGIL_DEMO_OUTPUT:-$(mktemp -d /tmp/vigil-demo.XXXXXX)}
echo "== vigil probe $sample"
build/service/vigil probe "$sample"
echo "== vigil decode $sample --fps 1 --size 384x384 --output $out"
build/service/vigil decode "$sample" --fps 1 --size 384x384 --output "$out"
echo "== $(ls "$out" | grep -c '\.rgb$') RGB frames and index.json written to $out"
