// A realtime session with the ws npm client: pushes a real MPEG-TS video in chunks while
// asking three questions at different times (the text model, include_video false) and one
// about the video (refused: no vision tower); prints a JSON summary of what arrived.
// usage: node ws_realtime.cjs WS_URL API_KEY VIDEO.ts
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');
const requireJs = createRequire(path.join(__dirname, '../../tools/js/package.json'));
const WebSocket = requireJs('ws');

const [url, apiKey, videoPath] = process.argv.slice(2);
const video = fs.readFileSync(videoPath);
const chunkBytes = 188 * 256;
const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${apiKey}` } });
const summary = { session: null, committed: 0, last_progress: null, done: [], errors: [],
  deltas: 0, frames_at_answers: [] };
let offset = 0;
let chunksSent = 0;
let questionsAsked = 0;
const questionAt = [4, 12, 24];  // after these many chunks

function send(event) { socket.send(JSON.stringify(event)); }

function pushNext() {
  if (offset >= video.length) return;
  socket.send(video.subarray(offset, offset + chunkBytes), { binary: true });
  offset += chunkBytes;
  chunksSent += 1;
  if (questionsAsked < questionAt.length && chunksSent === questionAt[questionsAsked]) {
    questionsAsked += 1;
    send({ type: 'response.create', event_id: `q${questionsAsked}`,
      response: { instructions: `Question ${questionsAsked}: what is new?`, include_video: false } });
  }
}

socket.on('message', (data, isBinary) => {
  const event = JSON.parse(data.toString());
  if (event.type === 'session.created') {
    summary.session = event.session.id;
    send({ type: 'session.update', session: { max_output_tokens: 6, temperature: 0 } });
    send({ type: 'response.create', event_id: 'video-q', question: 'What do you see?' });
    pushNext();
  } else if (event.type === 'input_video_buffer.committed') {
    summary.committed += 1;
    summary.last_progress = event.progress;
    setTimeout(pushNext, 20);
    if (offset >= video.length && summary.done.length >= 3) finish();
  } else if (event.type === 'response.output_text.delta') {
    summary.deltas += 1;
  } else if (event.type === 'response.done') {
    summary.done.push(event.response);
    summary.frames_at_answers.push(summary.last_progress ? summary.last_progress.frames_ingested : 0);
    if (offset >= video.length && summary.done.length >= 3) finish();
  } else if (event.type === 'error') {
    summary.errors.push(event.error);
  }
});

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  // Let the decoder catch up, then read the final progress.
  setTimeout(() => send({ type: 'input_video_buffer.commit' }), 1500);
  setTimeout(() => { console.log(JSON.stringify(summary)); socket.close(1000, 'done'); }, 2500);
}
socket.on('error', (error) => { console.error(String(error)); process.exit(1); });
socket.on('close', () => { if (!finished) { console.log(JSON.stringify(summary)); } });
