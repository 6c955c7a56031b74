// vigil's web page: upload or pick an archived video and ask about it over
// POST /v1/chat/completions (SSE), or push a local video as a live stream over the
// /v1/realtime WebSocket and ask while it ingests. No framework: the DOM and fetch.
// The protocol is docs/protocol.md; the REST API docs/openapi.json.
'use strict';

const $ = (id) => document.getElementById(id);

const KEY_STORAGE = 'vigil.apiKey';
// Browsers cannot set headers on a WebSocket: the key travels as a subprotocol.
const KEY_SUBPROTOCOL = 'openai-insecure-api-key.';
const POLL_MS = 500;
const BUFFER_FULL_RETRY_MS = 500;
const LOG_LIMIT = 200;

const state = {
  key: '',
  selected: null,     // the id of the archived file questions go to
  pollTimer: null,    // polls the selected file while it ingests
  chatAbort: null,    // stops the archived answer in progress
};

// ---- helpers ------------------------------------------------------------------------------

function authHeaders() {
  return state.key ? { Authorization: `Bearer ${state.key}` } : {};
}

function showError(id, message) {
  const element = $(id);
  element.textContent = message || '';
  element.hidden = !message;
}

// "401 missing_api_key: this endpoint needs an API key…" from vigil's error envelope.
function describeError(status, body, fallback) {
  const error = body && body.error;
  if (error && error.message) return `${status} ${error.code || error.type}: ${error.message}`;
  return `${status} ${fallback || 'request failed'}`;
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (ignored) { /* not JSON */ }
  return new Error(describeError(response.status, body, response.statusText));
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { ...authHeaders(), ...(options.headers || {}) },
  });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

function formatBytes(bytes) {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} KiB`;
  return `${bytes} B`;
}

function positiveInt(id, fallback) {
  const value = Number.parseInt($(id).value, 10);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

// ---- key and model -------------------------------------------------------------------------

async function loadModel() {
  try {
    const models = await api('/v1/models');
    const model = models.data[0];
    $('model-info').textContent = model.has_vision
      ? `Model: ${model.id} (sees video)`
      : `Model: ${model.id} (text only: questions about the video are refused; ` +
        `untick "about the video" to ask the model alone)`;
    showError('global-error', '');
    return true;
  } catch (error) {
    $('model-info').textContent = 'Model: unknown';
    showError('global-error', error.message);
    return false;
  }
}

async function useKey() {
  state.key = $('api-key').value.trim();
  try {
    localStorage.setItem(KEY_STORAGE, state.key);
  } catch (ignored) { /* storage disabled */ }
  if (await loadModel()) await refreshFiles();
}

// ---- archived videos -----------------------------------------------------------------------

function fileLabel(info) {
  const progress = info.progress == null ? '' : ` ${Math.round(info.progress * 100)}%`;
  return `${info.source || info.id} · ${info.status}${progress} · ${info.id}`;
}

async function refreshFiles() {
  let list;
  try {
    list = await api('/v1/files');
  } catch (error) {
    showError('archive-error', error.message);
    return;
  }
  const select = $('archive-list');
  select.replaceChildren();
  for (const info of list.data) {
    const option = document.createElement('option');
    option.value = info.id;
    option.textContent = fileLabel(info);
    option.selected = info.id === state.selected;
    select.append(option);
  }
  if (state.selected && !list.data.some((info) => info.id === state.selected)) selectFile(null);
}

function showFile(info) {
  const bar = $('archive-ingest-progress');
  if (info.progress == null) bar.removeAttribute('value');
  else bar.value = info.progress;
  const planned = info.frames_planned == null ? '?' : info.frames_planned;
  let text = `${info.id} (${info.source}): ${info.status}, frames ${info.frames_ingested}/${planned}` +
    `, ${info.video_seconds.toFixed(1)} s of video, ${info.tokens_kept} tokens kept`;
  if (info.error) text += ` — ${info.error}`;
  $('archive-selected').textContent = text;
  const option = [...$('archive-list').options].find((o) => o.value === info.id);
  if (option) option.textContent = fileLabel(info);
  if (info.status === 'failed') showError('archive-error', `Ingestion failed: ${info.error || 'unknown'}`);
}

function selectFile(id) {
  clearTimeout(state.pollTimer);
  state.selected = id;
  $('archive-ask').disabled = !id || state.chatAbort !== null;
  $('archive-delete').disabled = !id;
  if (!id) {
    $('archive-selected').textContent = 'No file selected.';
    $('archive-ingest-progress').value = 0;
    return;
  }
  pollFile(id);
}

// Shows the file's progress, again every POLL_MS while it ingests.
async function pollFile(id) {
  let info;
  try {
    info = await api(`/v1/files/${encodeURIComponent(id)}`);
  } catch (error) {
    if (state.selected === id) showError('archive-error', error.message);
    return;
  }
  if (state.selected !== id) return;
  showFile(info);
  if (info.status === 'ingesting') state.pollTimer = setTimeout(() => pollFile(id), POLL_MS);
}

function uploadFile() {
  const file = $('archive-file').files[0];
  const status = $('archive-upload-status');
  showError('archive-error', '');
  if (!file) {
    showError('archive-error', 'Choose a video file to upload first.');
    return;
  }
  const form = new FormData();
  form.append('purpose', 'vision');
  form.append('file', file, file.name);
  const request = new XMLHttpRequest();
  request.open('POST', '/v1/files');
  if (state.key) request.setRequestHeader('Authorization', `Bearer ${state.key}`);
  request.upload.onprogress = (event) => {
    if (!event.lengthComputable) return;
    $('archive-upload-progress').value = event.loaded / event.total;
    status.textContent = `Uploading ${file.name}: ${formatBytes(event.loaded)} of ` +
      `${formatBytes(event.total)}`;
  };
  request.onload = async () => {
    $('archive-upload').disabled = false;
    let body = null;
    try {
      body = JSON.parse(request.responseText);
    } catch (ignored) { /* not JSON */ }
    if (request.status < 200 || request.status >= 300) {
      status.textContent = 'Upload failed.';
      showError('archive-error', describeError(request.status, body, request.statusText));
      return;
    }
    $('archive-upload-progress').value = 1;
    status.textContent = `Uploaded ${file.name} as ${body.id}; ingesting.`;
    state.selected = body.id;
    await refreshFiles();
    selectFile(body.id);
  };
  request.onerror = () => {
    $('archive-upload').disabled = false;
    status.textContent = 'Upload failed.';
    showError('archive-error', 'The upload failed: the connection was lost.');
  };
  $('archive-upload').disabled = true;
  $('archive-upload-progress').value = 0;
  status.textContent = `Uploading ${file.name}…`;
  request.send(form);
}

async function deleteFile() {
  const id = state.selected;
  if (!id) return;
  try {
    await api(`/v1/files/${encodeURIComponent(id)}`, { method: 'DELETE' });
  } catch (error) {
    showError('archive-error', error.message);
  }
  selectFile(null);
  await refreshFiles();
}

// Reads an SSE body, calling onData with each event's data (without "data: ").
async function readSse(body, onData) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) onData(data);
    }
  }
}

async function askArchive() {
  const id = state.selected;
  const question = $('archive-question').value.trim();
  showError('archive-error', '');
  if (!id || !question) {
    showError('archive-error', 'Pick a file and type a question.');
    return;
  }
  const content = [{ type: 'text', text: question }];
  if ($('archive-include-video').checked) {
    content.unshift({ type: 'video_url', video_url: { url: `vigil://files/${id}` } });
  }
  const request = {
    messages: [{ role: 'user', content }],
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: positiveInt('archive-max-tokens', 64),
  };
  const answer = $('archive-answer');
  const meta = $('archive-answer-meta');
  answer.textContent = '';
  answer.classList.add('streaming');
  meta.textContent = 'Asking…';
  state.chatAbort = new AbortController();
  $('archive-ask').disabled = true;
  $('archive-stop').disabled = false;
  const started = performance.now();
  let firstDeltaMs = null;
  let finishReason = null;
  let usage = null;
  let streamError = null;
  try {
    const response = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: { ...authHeaders(), 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
      signal: state.chatAbort.signal,
    });
    if (!response.ok) throw await errorOf(response);
    await readSse(response.body, (data) => {
      if (data === '[DONE]') return;
      const chunk = JSON.parse(data);
      if (chunk.error) {
        streamError = describeError('error', chunk);
        return;
      }
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) return;
      if (choice.delta && choice.delta.content) {
        if (firstDeltaMs === null) firstDeltaMs = performance.now() - started;
        answer.textContent += choice.delta.content;
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    });
    if (streamError) throw new Error(streamError);
    const parts = [`finish: ${finishReason || 'none'}`];
    if (usage) parts.push(`${usage.prompt_tokens} prompt + ${usage.completion_tokens} answer tokens`);
    if (firstDeltaMs !== null) parts.push(`first token ${Math.round(firstDeltaMs)} ms`);
    parts.push(`total ${Math.round(performance.now() - started)} ms`);
    meta.textContent = parts.join(' · ');
  } catch (error) {
    if (error.name === 'AbortError') {
      meta.textContent = 'Stopped.';
    } else {
      meta.textContent = 'No answer.';
      showError('archive-error', error.message);
    }
  } finally {
    answer.classList.remove('streaming');
    state.chatAbort = null;
    $('archive-ask').disabled = !state.selected;
    $('archive-stop').disabled = true;
  }
}

// ---- live stream over /v1/realtime ---------------------------------------------------------

const live = {
  socket: null,
  file: null,
  opened: false,
  offset: 0,          // bytes of the file the server committed
  inFlightEnd: null,  // end of the chunk sent and not yet acknowledged (stop and wait)
  nextSendAt: 0,      // performance.now() before which the next chunk waits (the rate)
  sendTimer: null,
  pushing: false,
  responseId: null,
  askEventId: null,
  eventCount: 0,
};

function logEvent(text, coalesceKey) {
  const log = $('live-log');
  const last = log.lastElementChild;
  if (coalesceKey && last && last.dataset.key === coalesceKey) {
    last.textContent = text;
    return;
  }
  const item = document.createElement('li');
  item.textContent = text;
  if (coalesceKey) item.dataset.key = coalesceKey;
  log.append(item);
  while (log.childElementCount > LOG_LIMIT) log.firstElementChild.remove();
}

function sendLive(event) {
  live.eventCount += 1;
  const eventId = `${event.type.split('.')[0]}-${live.eventCount}`;
  live.socket.send(JSON.stringify({ ...event, event_id: eventId }));
  logEvent(`→ ${event.type}`);
  return eventId;
}

function setLiveButtons() {
  const open = live.socket !== null && live.socket.readyState === WebSocket.OPEN;
  $('live-start').disabled = live.socket !== null;
  $('live-stop').disabled = live.socket === null;
  $('live-ask').disabled = !open || live.askEventId !== null || live.responseId !== null;
  // Cancel works from the moment the question is sent: the server reads events in order.
  $('live-cancel').disabled = !open || (live.responseId === null && live.askEventId === null);
}

function showPushProgress() {
  const size = live.file ? live.file.size : 0;
  $('live-push-progress').value = size ? live.offset / size : 0;
  let text = `Pushed ${formatBytes(live.offset)} of ${formatBytes(size)}`;
  if (size && live.offset >= size) text = `All ${formatBytes(size)} pushed; the session stays open`;
  $('live-push-status').textContent = text;
}

// Sends the next chunk once the previous one is acknowledged and the rate allows it.
async function pushNext() {
  clearTimeout(live.sendTimer);
  const socket = live.socket;
  if (!live.pushing || !socket || socket.readyState !== WebSocket.OPEN) return;
  if (live.inFlightEnd !== null) return;
  if (live.offset >= live.file.size) {
    live.pushing = false;
    showPushProgress();
    return;
  }
  const wait = live.nextSendAt - performance.now();
  if (wait > 0) {
    live.sendTimer = setTimeout(pushNext, wait);
    return;
  }
  const chunkBytes = positiveInt('live-chunk', 47) * 1024;
  const bytesPerSecond = positiveInt('live-rate', 256) * 1024;
  const end = Math.min(live.offset + chunkBytes, live.file.size);
  live.inFlightEnd = end;
  const bytes = await live.file.slice(live.offset, end).arrayBuffer();
  if (live.socket !== socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(bytes);
  live.nextSendAt = performance.now() + ((end - live.offset) / bytesPerSecond) * 1000;
}

function showCommitted(progress) {
  $('live-status').textContent = progress.status || '–';
  $('live-bytes').textContent = formatBytes(progress.bytes || 0);
  $('live-frames').textContent = progress.frames_ingested ?? 0;
  $('live-dropped').textContent = progress.frames_dropped ?? 0;
  $('live-seconds').textContent = (progress.video_seconds ?? 0).toFixed(1);
  $('live-tokens').textContent = progress.tokens_kept ?? 0;
}

function finishLiveAnswer(metaText) {
  $('live-answer').classList.remove('streaming');
  if (metaText !== undefined) $('live-answer-meta').textContent = metaText;
  live.responseId = null;
  live.askEventId = null;
  setLiveButtons();
}

function onLiveError(error) {
  const message = `${error.code}: ${error.message}`;
  const forChunk = !error.event_id && live.inFlightEnd !== null;
  if (forChunk && error.code === 'input_video_buffer_full') {
    // The decoder lags: resend the same chunk a little later.
    live.inFlightEnd = null;
    live.nextSendAt = performance.now() + BUFFER_FULL_RETRY_MS;
    logEvent(`← error ${message} (resending)`);
    pushNext();
    return;
  }
  logEvent(`← error ${message}`);
  if (forChunk) {
    live.inFlightEnd = null;
    live.pushing = false;
    $('live-push-status').textContent = 'Pushing stopped.';
  }
  if (error.event_id && error.event_id === live.askEventId) finishLiveAnswer('No answer.');
  showError('live-error', message);
}

function onLiveEvent(event) {
  switch (event.type) {
    case 'session.created':
    case 'session.updated':
      $('live-session').textContent = event.session.id;
      logEvent(`← ${event.type} ${event.session.id}`);
      if (event.type === 'session.created') {
        live.pushing = true;
        pushNext();
      }
      break;
    case 'input_video_buffer.committed':
      if (live.inFlightEnd !== null) {
        live.offset = live.inFlightEnd;
        live.inFlightEnd = null;
        showPushProgress();
      }
      showCommitted(event.progress);
      logEvent(`← input_video_buffer.committed ${event.progress.frames_ingested ?? 0} frames`,
        'committed');
      pushNext();
      break;
    case 'response.created':
      live.responseId = event.response.id;
      live.askEventId = null;
      logEvent(`← response.created ${event.response.id}`);
      setLiveButtons();
      break;
    case 'response.output_text.delta':
      if (event.response_id === live.responseId) $('live-answer').textContent += event.delta;
      logEvent('← response.output_text.delta', 'delta');
      break;
    case 'response.output_text.done':
      logEvent('← response.output_text.done');
      break;
    case 'response.done': {
      const response = event.response;
      logEvent(`← response.done ${response.status}`);
      if (response.id !== live.responseId) break;
      const parts = [`status: ${response.status}`];
      if (response.usage) {
        parts.push(`${response.usage.input_tokens} prompt + ${response.usage.output_tokens} answer tokens`);
      }
      if (response.latency) {
        parts.push(`first token ${Math.round(response.latency.time_to_first_token_ms)} ms`);
        parts.push(`total ${Math.round(response.latency.total_ms)} ms`);
      }
      const failure = response.status_details && response.status_details.error;
      if (response.status === 'failed') {
        showError('live-error', `The answer failed: ${failure ? failure.message : 'unknown error'}`);
      }
      finishLiveAnswer(parts.join(' · '));
      break;
    }
    case 'error':
      onLiveError(event.error);
      break;
    default:
      logEvent(`← ${event.type}`);
  }
}

function startLive() {
  const file = $('live-file').files[0];
  showError('live-error', '');
  if (!file) {
    showError('live-error', 'Choose a video file (MPEG-TS or fragmented MP4) to push first.');
    return;
  }
  Object.assign(live, {
    file, opened: false, offset: 0, inFlightEnd: null, nextSendAt: 0, pushing: false,
    responseId: null, askEventId: null,
  });
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const protocols = ['realtime'];
  if (state.key) protocols.push(KEY_SUBPROTOCOL + state.key);
  let socket;
  try {
    socket = new WebSocket(`${scheme}://${location.host}/v1/realtime`, protocols);
  } catch (error) {
    showError('live-error', `Cannot open the WebSocket: ${error.message}`);
    return;
  }
  socket.binaryType = 'arraybuffer';
  live.socket = socket;
  $('live-push-status').textContent = 'Connecting…';
  showPushProgress();
  setLiveButtons();
  socket.onopen = () => {
    live.opened = true;
    $('live-push-status').textContent = 'Connected.';
    setLiveButtons();
  };
  socket.onmessage = (message) => {
    if (typeof message.data !== 'string') return;
    let event;
    try {
      event = JSON.parse(message.data);
    } catch (ignored) {
      logEvent('← (not JSON)');
      return;
    }
    onLiveEvent(event);
  };
  socket.onclose = async (close) => {
    if (live.socket !== socket) return;
    clearTimeout(live.sendTimer);
    live.socket = null;
    live.pushing = false;
    const reason = close.reason ? `: ${close.reason}` : '';
    $('live-push-status').textContent = `Disconnected (code ${close.code}${reason}).`;
    logEvent(`closed ${close.code}${reason}`);
    if (live.responseId !== null || live.askEventId !== null) finishLiveAnswer('Disconnected.');
    setLiveButtons();
    if (!live.opened) {
      // The browser hides why an upgrade was refused: ask the REST API, which says it.
      let message = 'The WebSocket was refused.';
      try {
        await api('/v1/streams');
      } catch (error) {
        message = `The WebSocket was refused: ${error.message}`;
      }
      showError('live-error', message);
    } else if (close.code !== 1000 && close.code !== 1005) {
      showError('live-error', `The session closed (code ${close.code}${reason}).`);
    }
  };
}

function stopLive() {
  if (!live.socket) return;
  live.pushing = false;
  clearTimeout(live.sendTimer);
  live.socket.close(1000, 'closed by the page');
}

function askLive() {
  const question = $('live-question').value.trim();
  showError('live-error', '');
  if (!question) {
    showError('live-error', 'Type a question.');
    return;
  }
  $('live-answer').textContent = '';
  $('live-answer').classList.add('streaming');
  $('live-answer-meta').textContent = 'Asking…';
  live.askEventId = sendLive({
    type: 'response.create',
    question,
    include_video: $('live-include-video').checked,
    max_output_tokens: positiveInt('live-max-tokens', 64),
  });
  setLiveButtons();
}

function cancelLive() {
  if (live.socket && (live.responseId !== null || live.askEventId !== null)) {
    sendLive({ type: 'response.cancel' });
  }
}

// ---- wiring ---------------------------------------------------------------------------------

function init() {
  try {
    state.key = localStorage.getItem(KEY_STORAGE) || '';
  } catch (ignored) { /* storage disabled */ }
  $('api-key').value = state.key;
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    useKey();
  });
  $('archive-upload').addEventListener('click', uploadFile);
  $('archive-refresh').addEventListener('click', refreshFiles);
  $('archive-delete').addEventListener('click', deleteFile);
  $('archive-list').addEventListener('change', (event) => {
    showError('archive-error', '');
    selectFile(event.target.value || null);
  });
  $('archive-ask').addEventListener('click', askArchive);
  $('archive-stop').addEventListener('click', () => state.chatAbort && state.chatAbort.abort());
  $('live-start').addEventListener('click', startLive);
  $('live-stop').addEventListener('click', stopLive);
  $('live-ask').addEventListener('click', askLive);
  $('live-cancel').addEventListener('click', cancelLive);
  setLiveButtons();
  loadModel().then((ok) => ok && refreshFiles());
}

init();
