// The chat-template reference: @huggingface/jinja (transformers.js's Jinja engine, installed
// in tools/js/node_modules by tools/js/install.sh), run fully offline.
//
// Usage: node render_reference.mjs JS_ROOT REQUEST.json RESPONSE.json
//   JS_ROOT       the folder holding package.json and node_modules (tools/js)
//   REQUEST.json  {"cases": [{"template": "...", "variables": {...}}, ...]}
//   RESPONSE.json {"results": [{"ok": true, "text_hex": "..."} |
//                              {"ok": false, "error": "..."}, ...],
//                  "versions": {...}}
// Each case is rendered as transformers.js renders a chat template: new Template(template)
// .render(variables). Texts travel as hex of their UTF-8 bytes.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [jsRoot, requestPath, responsePath] = process.argv.slice(2);
if (!jsRoot || !requestPath || !responsePath) {
  console.error("usage: node render_reference.mjs JS_ROOT REQUEST.json RESPONSE.json");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(jsRoot), "package.json"));
const { Template } = require("@huggingface/jinja");

const request = JSON.parse(fs.readFileSync(requestPath, "utf8"));
const results = request.cases.map(({ template, variables }) => {
  try {
    const text = new Template(template).render(variables);
    return { ok: true, text_hex: Buffer.from(text, "utf8").toString("hex") };
  } catch (error) {
    return { ok: false, error: String(error && error.message !== undefined ? error.message : error) };
  }
});

const packageVersion = (name) =>
  JSON.parse(fs.readFileSync(path.join(jsRoot, "node_modules", name, "package.json"), "utf8"))
    .version;
fs.writeFileSync(
  responsePath,
  JSON.stringify({
    results,
    versions: { node: process.versions.node, jinja: packageVersion("@huggingface/jinja") },
  }),
);
