#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds vigil and runs the service on its embedded default:
# the tiny random LLaVA-OneVision checkpoint (tests/fixtures/llava_ov_tiny) and a real sample
# video. It starts `vigil serve`, uploads the video, shows the ingestion progress (frames
# decoded, encoded, token drop) and streams an answer to a question about it, then keeps
# serving on http://127.0.0.1:${VIGIL_PORT:-8080}/ (the web page) until Ctrl-C.
# The tiny model has random weights: its answer is gibberish. For real answers pass a real
# LLaVA-OneVision checkpoint folder: VIGIL_MODEL=/path/to/llava-onevision-qwen2-7b-ov-hf tools/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF >/dev/null
cmake --build build --target vigil
sample=${1:-/usr/share/doc/opencv-doc/examples/data/vtest.avi}
model=${VIGIL_MODEL:-tests/fixtures/llava_ov_tiny}
port=${VIGIL_PORT:-8080}
data=$(mktemp -d /tmp/vigil-data.XXXXXX)
url=http://127.0.0.1:$port

echo "== vigil serve --model $model (port $port, data in $data)"
build/service/vigil serve --model "$model" --port "$port" --data-dir "$data" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do
  curl -sf "$url/health/ready" >/dev/null && break
  kill -0 $server 2>/dev/null || { echo "vigil serve exited"; exit 1; }
  sleep 0.2
done

echo "== upload $sample"
id=$(curl -sf -F "file=@$sample" "$url/v1/files" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
while :; do
  status=$(curl -sf "$url/v1/files/$id")
  echo "   $status"
  python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1])["status"] == "ingesting")' "$status" && break
  sleep 1
done

echo "== ask about it (streamed; the tiny random model answers gibberish)"
curl -sfN "$url/v1/chat/completions" -H 'Content-Type: application/json' -d "{
  \"model\": \"$(basename "$model")\", \"stream\": true, \"max_tokens\": 24, \"stream_options\": {\"include_usage\": true},
  \"messages\": [{\"role\": \"user\", \"content\": [
    {\"type\": \"video_url\", \"video_url\": {\"url\": \"$id\"}},
    {\"type\": \"text\", \"text\": \"What happens in the video?\"}]}]}" |
  python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("data: ") or line == "data: [DONE]":
        continue
    event = json.loads(line[6:])
    for choice in event.get("choices", []):
        print(choice.get("delta", {}).get("content") or "", end="", flush=True)
    if event.get("usage"):
        print("\n   usage:", json.dumps(event["usage"]))
'
echo
echo "== vigil is serving on $url (web page at $url/, metrics at $url/metrics); Ctrl-C stops it"
wait $server
