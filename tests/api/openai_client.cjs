// The official openai npm client against vigil: a chat completion streamed and not, and a
// question about a video (refused with 501 by a text-only model). Prints one JSON summary.
// usage: node openai_client.cjs BASE_URL API_KEY MODEL FILE_ID
const path = require('path');
const { createRequire } = require('module');
const requireJs = createRequire(path.join(__dirname, '../../tools/js/package.json'));
const OpenAI = requireJs('openai');

async function main() {
  const [baseURL, apiKey, model, fileId] = process.argv.slice(2);
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
  const summary = {};
  const plain = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 8, temperature: 0, seed: 1,
  });
  summary.plain = { object: plain.object, text: plain.choices[0].message.content,
    finish_reason: plain.choices[0].finish_reason, usage: plain.usage };
  const stream = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 8, temperature: 0, seed: 1,
    stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let chunks = 0;
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    chunks += 1;
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices.length > 0) {
      text += chunk.choices[0].delta.content || '';
      if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
    }
  }
  summary.streamed = { text, chunks, usage, finish_reason: finish };
  try {
    await client.chat.completions.create({
      model, max_tokens: 8,
      messages: [{ role: 'user', content: [
        { type: 'video_url', video_url: { url: fileId } }, { type: 'text', text: 'What happens?' }] }],
    });
    summary.video = { status: 200 };
  } catch (error) {
    summary.video = { status: error.status, message: error.message, code: error.code,
      type: error.type };
  }
  console.log(JSON.stringify(summary));
}

main().catch((error) => { console.error(error); process.exit(1); });
