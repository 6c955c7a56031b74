#!/usr/bin/env bash
# Installs the Debian 12 packages vigil needs to build, test and benchmark. Idempotent.
# Usage: sudo tools/install_deps.sh   (as root, apt-get works as is)
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # decoder
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  # llm: libtorch (CPU) and a fast BLAS for it (without it libtorch falls back to reference BLAS)
  libtorch-dev libopenblas0-pthread
  # memory: FAISS (block retrieval), zstd (lossless compression of the disk tier)
  libfaiss-dev libzstd-dev
  # llm tokenizer: Unicode data and NFC
  libutf8proc-dev
  # service
  nlohmann-json3-dev
  # api: Boost.Beast (header-only); its tests use curl, Python websockets and, for the web
  # page, headless chromium driven by Playwright (tools/js)
  libboost1.81-dev curl python3-websockets chromium
  # tests: GoogleTest, the ffmpeg CLI as reference, clang for libFuzzer and sanitizers,
  # an RTSP server, real sample videos
  libgtest-dev ffmpeg clang libclang-rt-14-dev rtsp-server-perl opencv-doc python3-imageio
  # benchmark peers
  python3-av python3-opencv python3-numpy time
)
# The tokenizer's reference (transformers.js, tools/js/install.sh) runs in node >= 20. The
# project's machines ship node 20 with npm; elsewhere Debian's nodejs and npm (node 18 on Debian
# 12: tools/js/install.sh then says that a newer node is needed).
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "install_deps: all ${#packages[@]} packages present"
