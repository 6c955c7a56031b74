// Drives vigil's web page (GET /) in headless Chromium (Debian's /usr/bin/chromium) with
// Playwright, like a user: loads the page without a key (its error shows), types the key,
// uploads an archived video and watches its ingestion, asks about it and watches the answer
// stream in; then pushes an MPEG-TS as a live stream over the page's WebSocket, watches the
// committed progress, asks while it ingests, cancels an answer, and tries a wrong key.
// Prints a JSON summary of what the page showed; web_page_test.cpp asserts on it.
// usage: node web_page.cjs BASE_URL API_KEY ARCHIVE_VIDEO LIVE_TS
const path = require('path');
const { createRequire } = require('module');
const requireJs = createRequire(path.join(__dirname, '../../tools/js/package.json'));
const { chromium } = requireJs('playwright-core');

const [baseUrl, apiKey, archiveVideo, liveVideo] = process.argv.slice(2);
const CHROMIUM = process.env.VIGIL_CHROMIUM || '/usr/bin/chromium';
const LONG = 180000;

const summary = { page: {}, archive: {}, live: {}, console_errors: [] };

const text = (page, id) => page.locator(`#${id}`).innerText();
const visibleText = async (page, id) =>
  ((await page.locator(`#${id}`).isVisible()) ? page.locator(`#${id}`).innerText() : '');

// Records how the element's text grew (one entry per DOM change) until stopRecording.
async function recordGrowth(page, id) {
  await page.evaluate((elementId) => {
    const element = document.getElementById(elementId);
    window.__growth = window.__growth || {};
    window.__growth[elementId] = [];
    // Each `textContent +=` replaces the text node: one record per update, its added node
    // holding the text as it was then (records come batched, the nodes keep their text).
    const observer = new MutationObserver((records) => {
      for (const record of records) {
        const added = record.addedNodes[0];
        window.__growth[elementId].push(added ? added.textContent.length : 0);
      }
    });
    observer.observe(element, { childList: true, characterData: true, subtree: true });
    window.__observers = window.__observers || {};
    window.__observers[elementId] = observer;
  }, id);
}

async function stopRecording(page, id) {
  return page.evaluate((elementId) => {
    window.__observers[elementId].disconnect();
    return window.__growth[elementId];
  }, id);
}

// Samples a progress element's value every 50 ms while work goes on.
async function sampleProgress(page, id) {
  await page.evaluate((elementId) => {
    window.__samples = window.__samples || {};
    const samples = (window.__samples[elementId] = []);
    window.__samplers = window.__samplers || {};
    window.__samplers[elementId] = setInterval(() => {
      const element = document.getElementById(elementId);
      const value = element.hasAttribute('value') ? element.value : null;
      if (samples[samples.length - 1] !== value) samples.push(value);
    }, 50);
  }, id);
}

async function stopSampling(page, id) {
  return page.evaluate((elementId) => {
    clearInterval(window.__samplers[elementId]);
    const element = document.getElementById(elementId);
    const samples = window.__samples[elementId];
    const value = element.hasAttribute('value') ? element.value : null;
    if (samples[samples.length - 1] !== value) samples.push(value);
    return samples;
  }, id);
}

async function answerOf(page, prefix) {
  return {
    text: await text(page, `${prefix}-answer`),
    length: await page.evaluate((id) => document.getElementById(id).textContent.length,
      `${prefix}-answer`),
    meta: await text(page, `${prefix}-answer-meta`),
    error: await visibleText(page, `${prefix}-error`),
  };
}

async function askArchive(page, question, includeVideo, maxTokens) {
  await page.fill('#archive-question', question);
  await page.fill('#archive-max-tokens', String(maxTokens));
  await page.setChecked('#archive-include-video', includeVideo);
  await recordGrowth(page, 'archive-answer');
  await page.click('#archive-ask');
  // Done when Ask is enabled again.
  await page.waitForFunction(() => {
    const ask = document.getElementById('archive-ask');
    const meta = document.getElementById('archive-answer-meta').textContent;
    return !ask.disabled && meta !== 'Asking…';
  }, null, { timeout: LONG });
  return { ...(await answerOf(page, 'archive')), growth: await stopRecording(page, 'archive-answer') };
}

const liveFrames = (page) => page.evaluate(() =>
  Number(document.getElementById('live-frames').textContent));

async function askLive(page, question, includeVideo, maxTokens) {
  await page.fill('#live-question', question);
  await page.fill('#live-max-tokens', String(maxTokens));
  await page.setChecked('#live-include-video', includeVideo);
  await recordGrowth(page, 'live-answer');
  const framesAtAsk = await liveFrames(page);
  await page.click('#live-ask');
  await page.waitForFunction(() => {
    const ask = document.getElementById('live-ask');
    return !ask.disabled || !document.getElementById('live-error').hidden;
  }, null, { timeout: LONG });
  const pushed = await text(page, 'live-push-status');
  return {
    ...(await answerOf(page, 'live')),
    growth: await stopRecording(page, 'live-answer'),
    frames_at_ask: framesAtAsk,
    push_status_when_answered: pushed,
  };
}

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    // Chromium logs each refused request (the 401s and 501 this test provokes) as a console
    // error: those are kept apart from script errors and policy (CSP) violations.
    summary.refused_requests = [];
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const line = message.text();
      const refused = line.startsWith('Failed to load resource: the server responded') ||
        /^WebSocket connection to .* failed: HTTP Authentication failed/.test(line);
      (refused ? summary.refused_requests : summary.console_errors).push(line);
    });
    page.on('pageerror', (error) => summary.console_errors.push(`pageerror: ${error.message}`));

    // The page loads without a key; its API calls say that one is needed.
    const response = await page.goto(`${baseUrl}/`);
    summary.page.status = response.status();
    summary.page.content_type = response.headers()['content-type'];
    summary.page.csp = response.headers()['content-security-policy'] || '';
    summary.page.title = await page.title();
    await page.locator('#global-error').waitFor({ state: 'visible', timeout: 10000 });
    summary.page.error_without_key = await text(page, 'global-error');

    await page.fill('#api-key', apiKey);
    await page.click('#key-save');
    await page.waitForFunction(() => document.getElementById('global-error').hidden &&
      document.getElementById('model-info').textContent.startsWith('Model: ') &&
      document.getElementById('model-info').textContent !== 'Model: unknown');
    summary.page.model_info = await text(page, 'model-info');

    // ---- archived: upload, ingestion progress, pick, ask ----
    await page.setInputFiles('#archive-file', archiveVideo);
    await sampleProgress(page, 'archive-ingest-progress');
    await page.click('#archive-upload');
    await page.waitForFunction(() =>
      document.getElementById('archive-upload-status').textContent.startsWith('Uploaded') ||
      !document.getElementById('archive-error').hidden, null, { timeout: LONG });
    summary.archive.upload_status = await text(page, 'archive-upload-status');
    summary.archive.upload_error = await visibleText(page, 'archive-error');
    summary.archive.id = (summary.archive.upload_status.match(/ as (\S+);/) || [])[1] || '';
    await page.waitForFunction((id) => document.getElementById('archive-selected').textContent
      .startsWith(id), summary.archive.id);
    summary.archive.selected_during = await text(page, 'archive-selected');
    await page.waitForFunction(() => /: (ready|failed),/.test(
      document.getElementById('archive-selected').textContent), null, { timeout: LONG });
    summary.archive.ingest_samples = await stopSampling(page, 'archive-ingest-progress');
    summary.archive.selected_after = await text(page, 'archive-selected');
    summary.archive.options = await page.locator('#archive-list option').allInnerTexts();
    // Pick it from the refreshed list, as a returning user would.
    await page.click('#archive-refresh');
    await page.waitForFunction((id) => [...document.querySelectorAll('#archive-list option')]
      .some((option) => option.value === id), summary.archive.id);
    await page.selectOption('#archive-list', summary.archive.id);
    summary.archive.video_answer = await askArchive(page, 'What happens in this video?', true, 24);
    summary.archive.text_answer = await askArchive(page, 'Say hello.', false, 24);

    // ---- live: push over the page's WebSocket, ask while it ingests, cancel ----
    await page.setInputFiles('#live-file', liveVideo);
    await page.fill('#live-rate', '384');
    await sampleProgress(page, 'live-push-progress');
    await page.click('#live-start');
    await page.waitForFunction(() =>
      document.getElementById('live-session').textContent.startsWith('rt-') ||
      !document.getElementById('live-error').hidden, null, { timeout: 30000 });
    summary.live.session = await text(page, 'live-session');
    await page.waitForFunction(() => Number(document.getElementById('live-frames').textContent) >= 3 ||
      !document.getElementById('live-error').hidden, null, { timeout: LONG });
    summary.live.video_answer = await askLive(page, 'What is happening now?', true, 24);
    summary.live.text_answer = await askLive(page, 'Say hello.', false, 24);

    // Cancel: Ask then Cancel at once (the tiny model answers within ~100 ms, faster than two
    // separate clicks): the page sends response.create and response.cancel back to back. The
    // server may still finish first (its strand reads the cancel after queued deltas): then the
    // page shows its no_active_response error, and the test tries again.
    await page.fill('#live-question', 'Count to a thousand.');
    await page.fill('#live-max-tokens', '3000');
    await page.setChecked('#live-include-video', false);
    summary.live.cancel_attempts = [];
    for (let attempt = 0; attempt < 5; ++attempt) {
      await page.evaluate(() => {
        document.getElementById('live-ask').click();
        document.getElementById('live-cancel').click();
      });
      await page.waitForFunction(() => !document.getElementById('live-ask').disabled &&
        document.getElementById('live-answer-meta').textContent !== 'Asking…', null,
      { timeout: LONG });
      // A late cancel's error comes after response.done: let it arrive.
      await page.waitForTimeout(200);
      const outcome = await answerOf(page, 'live');
      summary.live.cancel_attempts.push(outcome);
      if (outcome.meta.includes('status: cancelled')) break;
    }
    summary.live.cancelled = summary.live.cancel_attempts[summary.live.cancel_attempts.length - 1];

    await page.waitForFunction(() => /^(All|Pushing stopped)/.test(
      document.getElementById('live-push-status').textContent), null, { timeout: LONG });
    summary.live.push_samples = await stopSampling(page, 'live-push-progress');
    summary.live.push_status = await text(page, 'live-push-status');
    summary.live.committed = {
      status: await text(page, 'live-status'),
      bytes: await text(page, 'live-bytes'),
      frames: await liveFrames(page),
      seconds: Number(await text(page, 'live-seconds')),
    };
    summary.live.log = await page.locator('#live-log li').allTextContents();
    await page.click('#live-stop');
    await page.waitForFunction(() =>
      document.getElementById('live-push-status').textContent.startsWith('Disconnected'));
    summary.live.after_stop = await text(page, 'live-push-status');

    // A wrong key: the refused WebSocket's reason shows.
    await page.fill('#api-key', 'wrong-key');
    await page.click('#key-save');
    await page.locator('#global-error').waitFor({ state: 'visible' });
    summary.page.error_wrong_key = await text(page, 'global-error');
    await page.click('#live-start');
    await page.locator('#live-error').waitFor({ state: 'visible', timeout: 30000 });
    summary.live.error_wrong_key = await text(page, 'live-error');
  } finally {
    await browser.close();
  }
}

main().then(() => {
  console.log(JSON.stringify(summary));
}, (error) => {
  summary.failure = String(error && error.stack || error);
  console.log(JSON.stringify(summary));
  process.exitCode = 1;
});
