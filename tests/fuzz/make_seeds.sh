#!/usr/bin/env bash
# Regenerates the fuzzer's seeds: tiny valid streams (64x64, 2 to 5 frames, each < 20 KiB)
# in the containers and codecs a client pushes, made with the ffmpeg CLI.
set -euo pipefail
cd "$(dirname "$0")/seeds"
input=(-hide_banner -loglevel error -y -f lavfi -i testsrc2=size=64x64:rate=25)
ffmpeg "${input[@]}" -frames:v 2 -c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p \
  -f mpegts h264_2frames_64x64.ts
ffmpeg "${input[@]}" -frames:v 5 -c:v libx264 -preset veryfast -bf 2 -g 3 -pix_fmt yuv420p \
  -f mpegts h264_bframes_5frames_64x64.ts
ffmpeg "${input[@]}" -frames:v 2 -c:v mpeg4 -g 25 -f mpegts mpeg4_2frames_64x64.ts
ffmpeg "${input[@]}" -frames:v 2 -c:v libx265 -preset ultrafast -x265-params log-level=error \
  -pix_fmt yuv420p -f mpegts hevc_2frames_64x64.ts
ffmpeg "${input[@]}" -frames:v 3 -c:v libx264 -preset ultrafast -g 2 -pix_fmt yuv420p \
  -movflags frag_keyframe+empty_moov -f mp4 h264_3frames_64x64_fragmented.mp4
