#!/usr/bin/env bash
# Installs the Debian 12 packages vigil needs to build, test and benchmark. Idempotent.
# Usage: sudo tools/install_deps.sh   (as root, apt-get works as is)
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # decoder
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  # service
  nlohmann-json3-dev
  # tests: GoogleTest, the ffmpeg CLI as reference, clang for libFuzzer and sanitizers,
  # an RTSP server, real sample videos
  libgtest-dev ffmpeg clang libclang-rt-14-dev rtsp-server-perl opencv-doc python3-imageio
  # benchmark peers
  python3-av python3-opencv python3-numpy time
)

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
