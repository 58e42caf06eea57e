// End to end: the real intake binary serves its upload page to Debian's headless Chromium,
// driven by playwright-core. A person's path through the page: sign in, pick a project,
// upload a real PNG and see it imported and previewed, drop a junk file, change its kind to
// image and see its failure message, upload a multi-part file, import by URL, preview a
// 3D model, filter the recent uploads; the same by keyboard only; then sign out mid-upload
// and sign in as another key, which finds nothing of the first. Each state is checked by
// axe-core and kept as screenshots (desktop and 375 px wide) in $WEB_E2E_OUT (target/web-e2e/).
//
// Needs: INTAKE_BIN (the built binary). scripts/test.sh sets everything up.
// WEB_E2E_WEB_DIR=web serves the page's files from the repository instead of the binary's
// copies (for editing the page without rebuilding; see harness.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { basicAuth, capturer, launchBrowser, servePageFrom, startIntake } from './harness.mjs';
import { glbTriangle, png } from './media.mjs';

const BIN = process.env.INTAKE_BIN;
const OUT = process.env.WEB_E2E_OUT || join(process.cwd(), 'web-e2e');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const HERE = dirname(fileURLToPath(import.meta.url));
/** Real model weights from the validators' fixtures, for the Hugging Face and Civitai imports. */
const WEIGHTS = readFileSync(join(HERE, '../../crates/intake-core/src/validate/fixtures/tiny.safetensors'));
const WEIGHTS_SHA256 = createHash('sha256').update(WEIGHTS).digest('hex');
const KEY = 'web-key';
const SECRET = 'web-secret';
/** A second key, of another project only: the one signed in after the first signs out. */
const KEY_B = 'b-key';
const SECRET_B = 'b-secret';
const WEB_DIR = process.env.WEB_E2E_WEB_DIR ? resolve(process.env.WEB_E2E_WEB_DIR) : null;

let intake; // the server process
let base; // http://127.0.0.1:PORT
let origin; // one HTTP server on loopback: a file for the URL import, and stand-ins for the
// Hugging Face and Civitai APIs (their real shapes, reduced to what intake reads)
let context; // the browser
let page;
let capture; // checks a state with axe-core and saves its screenshots
const scratch = [];
const problems = []; // console errors and CSP violations: the page must have none
/** Answers to /held-cat.png the origin has not sent yet: an import that stays pending. */
const held = [];

/** The page's row of an upload on this page, by file name. */
function row(name) {
  return page.locator('#queue li.transfer').filter({ has: page.locator('.name', { hasText: name }) });
}

async function waitStatus(name, status, ms = 30000) {
  await row(name).locator(`.status:text-is("${status}")`).waitFor({ timeout: ms });
}

/** The text of a row's inline preview once it shows `pattern` (it is filled after the status
 *  turns `imported`, from a second request). */
async function previewText(name, pattern, ms = 30000) {
  const preview = row(name).locator('.inline-preview', { hasText: pattern });
  await preview.waitFor({ timeout: ms });
  return preview.innerText();
}

before(async () => {
  assert.ok(BIN, 'set INTAKE_BIN to the intake binary');
  mkdirSync(OUT, { recursive: true });
  const data = mkdtempSync(join(tmpdir(), 'intake-web-data-'));
  const profile = mkdtempSync(join(tmpdir(), 'intake-web-chromium-'));
  scratch.push(data, profile);

  const cat = png(32, 24);
  const commit = 'c0ffee'.padEnd(40, '0');
  const json = (res, body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const bytes = (res, type, body) => res.writeHead(200, { 'content-type': type, 'content-length': body.length }).end(body);
  origin = createServer((req, res) => {
    const here = `http://127.0.0.1:${origin.address().port}`;
    const path = req.url.split('?')[0];
    if (path === '/remote-cat.png') return bytes(res, 'image/png', cat);
    if (path === '/held-cat.png') return held.push(() => bytes(res, 'image/png', cat));
    if (path === '/api/models/web-tests/tiny-lora') {
      return json(res, {
        id: 'web-tests/tiny-lora',
        sha: commit,
        siblings: [
          { rfilename: 'README.md', size: 10 },
          { rfilename: 'tiny.safetensors', size: WEIGHTS.length, lfs: { sha256: WEIGHTS_SHA256, size: WEIGHTS.length } },
        ],
      });
    }
    if (path === `/web-tests/tiny-lora/resolve/${commit}/tiny.safetensors`) {
      return bytes(res, 'application/octet-stream', WEIGHTS);
    }
    if (path === '/api/v1/model-versions/70') {
      return json(res, {
        id: 70, modelId: 7, name: 'v1', model: { name: 'Tiny Civitai LoRA' },
        files: [{
          name: 'tiny_civitai.safetensors', sizeKB: WEIGHTS.length / 1024, type: 'Model', primary: true,
          hashes: { SHA256: WEIGHTS_SHA256.toUpperCase() }, downloadUrl: `${here}/api/download/models/70`,
        }],
      });
    }
    if (path === '/api/download/models/70') return bytes(res, 'application/octet-stream', WEIGHTS);
    return res.writeHead(404).end();
  });
  await new Promise((r) => origin.listen(0, '127.0.0.1', r));
  const originUrl = `http://127.0.0.1:${origin.address().port}`;

  ({ process: intake, base } = await startIntake(BIN, {
    INTAKE_DATA_DIR: data,
    INTAKE_API_KEYS: `${KEY}:${SECRET}:proj_web;proj_other,${KEY_B}:${SECRET_B}:proj_b`,
    // The imports below fetch from a server on loopback.
    INTAKE_IMPORT_ALLOW_PRIVATE: '1',
    INTAKE_HF_ENDPOINT: originUrl,
    INTAKE_CIVITAI_ENDPOINT: originUrl,
  }));

  ({ context, page } = await launchBrowser(CHROMIUM, profile));
  if (WEB_DIR) await servePageFrom(context, base, WEB_DIR);
  capture = capturer(page, OUT);
  page.on('console', (msg) => {
    // A 4xx the test provokes (a wrong secret, a refused import) is logged as a failed
    // load; the test checks those answers itself.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      const { url, lineNumber, columnNumber } = msg.location();
      problems.push(`${msg.text()} at ${url}:${lineNumber}:${columnNumber}`);
    }
  });
  // Every CSP violation, with what was refused and where, as a console error.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const target = e.target && e.target.nodeName ? e.target.nodeName.toLowerCase() : String(e.target);
      console.error(`CSP violation: ${e.effectiveDirective} refused ${e.blockedURI || 'inline'} in ${target}: ${e.sample}`);
    }, true);
  });
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
});

after(async () => {
  for (const release of held.splice(0)) release();
  if (context) await context.close();
  if (intake) intake.kill('SIGTERM');
  if (origin) origin.close();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

test('the page is served by intake with a strict Content-Security-Policy', async () => {
  const response = await page.goto(base);
  assert.equal(response.status(), 200);
  const headers = response.headers();
  assert.match(headers['content-type'], /^text\/html/);
  const csp = headers['content-security-policy'];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  // No inline scripts or styles, no eval ('wasm-unsafe-eval' lets the 3D viewer compile its
  // bundled WebAssembly mesh decoder, and nothing else).
  assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  const js = await fetch(`${base}/web/js/app.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.equal((await fetch(`${base}/web/nope.js`)).status, 404);
});

test('the page has a favicon, file-type icons it is allowed to load, and a title that says where you are', async () => {
  const href = await page.locator('link[rel=icon]').getAttribute('href');
  const favicon = await fetch(new URL(href, base));
  assert.equal(favicon.status, 200);
  assert.equal(favicon.headers.get('content-type'), 'image/svg+xml');
  for (const kind of ['image', 'video', 'audio', '3d', 'model', 'text', 'avatar', 'asset', 'upload']) {
    const icon = await fetch(`${base}/web/vendor/icons/${kind}.svg`);
    assert.equal(icon.status, 200, kind);
    assert.match(await icon.text(), /^<!-- @license lucide-static/);
  }
  // The logo in the header is the favicon, loaded under the page's CSP (img-src 'self').
  const logo = page.locator('header img.logo');
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await logo.elementHandle());
  assert.equal(await page.title(), 'Sign in · intake');
  await capture('sign-in');
});

test('a wrong secret is refused with the reason, the right one signs in', async () => {
  await page.getByLabel('API key').fill(KEY);
  await page.getByLabel('API secret').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Words that say what to do; the server's own reason and the trace id under "Details".
  const error = page.locator('#sign-in-error');
  await error.locator('.error-text', { hasText: "That key and secret don't match. Check them, or ask your admin for a new key." }).waitFor();
  assert.ok(await error.locator('details.trace p').isHidden(), 'the technical line is folded away');
  await error.locator('summary', { hasText: 'Details' }).click();
  const detail = await error.locator('details.trace p').innerText();
  assert.match(detail, /HTTP 401/);
  assert.match(detail, /wrong/);
  assert.match(detail, /trace id \S+/);
  assert.equal(await page.title(), 'Sign-in failed · intake');
  await capture('sign-in-error');
  // The rest by keyboard only: the key field, Tab to the secret, Enter to sign in.
  await page.getByLabel('API secret').fill('');
  await page.getByLabel('API key').focus();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'api-secret');
  await page.keyboard.type(SECRET);
  await page.keyboard.press('Enter');
  await page.locator('#workspace').waitFor();
  const projects = await page.locator('#project option').evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(projects, ['proj_web', 'proj_other']);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('intake.apiKey')), KEY);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing is kept beyond the session');
  // A new project: the empty state says what to do first.
  await page.locator('#recent-empty', { hasText: 'No uploads in this project yet' }).waitFor();
  assert.match(await page.locator('#recent-empty').innerText(), /Choose files/);
  assert.ok(await page.locator('#recent').isHidden(), 'no empty table under the empty state');
  assert.equal(await page.title(), 'proj_web · intake');
  await page.locator('#live', { hasText: 'Signed in' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'choose-files', 'the focus goes where work starts');
  await capture('signed-in-empty');
});

test('a real PNG uploads through the page, is imported and previewed', async () => {
  const cat = png(64, 48);
  await page.locator('#file-input').setInputFiles({ name: 'cat.png', mimeType: 'image/png', buffer: cat });
  const kind = row('cat.png').getByLabel('Kind');
  assert.equal(await kind.inputValue(), 'image', 'the kind is guessed from the file');
  // Before it goes, the row shows the picture from the local file (an object URL).
  const local = row('cat.png').locator('img.thumb');
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await local.elementHandle());
  assert.match(await local.getAttribute('src'), /^blob:/);
  assert.ok(await page.locator('#queue-hint').isVisible());
  await capture('file-ready');
  await row('cat.png').getByRole('button', { name: 'Upload cat.png' }).click();
  await waitStatus('cat.png', 'imported');
  assert.match(await row('cat.png').locator('.status').getAttribute('class'), /\bgood\b/);
  await page.locator('#live', { hasText: 'cat.png: imported' }).waitFor();
  const img = row('cat.png').locator('img.media');
  await img.waitFor();
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  assert.deepEqual(await img.evaluate((el) => [el.naturalWidth, el.naturalHeight]), [64, 48]);
  // Properties under labels, with units; the raw JSON one click away.
  const details = await row('cat.png').locator('dl.details').innerText();
  assert.match(details, /Dimensions\s+64 × 48/);
  assert.match(details, /Size\s+\d+(\.\d)? kB/);
  assert.match(details, /Format\s+PNG/);
  assert.match(details, /image\/png/);
  assert.doesNotMatch(details, /\bwidth\b|\bsize\b/, 'no raw keys among the labels');
  const raw = row('cat.png').locator('details.raw');
  assert.ok(await raw.locator('pre').isHidden());
  await raw.locator('summary', { hasText: 'Raw JSON' }).click();
  const json = JSON.parse(await raw.locator('pre').innerText());
  assert.equal(json.properties.width, 64);
  assert.equal(json.mimeType, 'image/png');
  await capture('image-imported');
});

test('a junk file dropped and marked as an image fails with its reason', async () => {
  // Drag and drop, as a person would: a DataTransfer holding the file, dropped on the zone.
  const dataTransfer = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['this is not a picture, just words'], 'junk.dat', { type: '' }));
    return dt;
  });
  await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer });
  const kind = row('junk.dat').getByLabel('Kind');
  assert.equal(await kind.inputValue(), 'asset', 'an unknown file is guessed as any file');
  await kind.selectOption('image');
  await page.getByRole('button', { name: 'Upload all' }).click();
  await waitStatus('junk.dat', 'failed');
  const message = await row('junk.dat').locator('.message').innerText();
  assert.match(message, /junk\.dat was refused: expected an image/);
  // A failure is red, with its reason.
  assert.match(await row('junk.dat').locator('.status').getAttribute('class'), /\bbad\b/);
  assert.match(await row('junk.dat').locator('.message').getAttribute('class'), /\bbad\b/);
  await page.locator('#live', { hasText: 'junk.dat: failed' }).waitFor();
  await capture('upload-failed');
});

test('a file of several parts goes up in parallel parts with progress', async () => {
  // About 9.4 MiB of uncompressed noise: two parts of at most 8 MiB.
  const big = png(1800, 1830, { noise: true });
  assert.ok(big.length > 8 * 1024 * 1024);
  // Every part PUT carries the Content-MD5 of exactly its bytes.
  const digests = [];
  const onPart = (r) => {
    if (r.method() !== 'PUT' || !/\/parts\//.test(r.url())) return;
    const body = r.postDataBuffer();
    digests.push([r.headers()['content-md5'], body && createHash('md5').update(body).digest('base64')]);
  };
  page.on('request', onPart);
  await page.locator('#file-input').setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: big });
  await row('big.png').getByRole('button', { name: 'Upload big.png' }).click();
  await waitStatus('big.png', 'imported', 60000);
  page.off('request', onPart);
  assert.equal(digests.length, 2);
  for (const [sent, actual] of digests) {
    assert.match(sent, /^[A-Za-z0-9+/]{22}==$/);
    if (actual) assert.equal(sent, actual);
  }
  const whole = [createHash('md5').update(big.subarray(0, 8 * 1024 * 1024)).digest('base64'),
    createHash('md5').update(big.subarray(8 * 1024 * 1024)).digest('base64')];
  assert.deepEqual(digests.map(([sent]) => sent).sort(), whole.sort());
  const stats = await row('big.png').locator('.stats').innerText();
  assert.match(stats, /MB sent/);
  const img = row('big.png').locator('img.media');
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  assert.equal(await img.evaluate((el) => el.naturalWidth), 1800);
});

test('failed parts are retried: a 503 after a pause, an expired URL with a fresh one', async () => {
  const answers = [503, 403]; // what the first two part PUTs get instead of intake's answer
  const refreshes = [];
  await page.route(/\/parts\//, (route) => {
    const status = answers.shift();
    if (status) {
      route.fulfill({ status, contentType: 'application/json', body: JSON.stringify({ reason: `test ${status}` }) });
    } else {
      route.continue();
    }
  });
  const onRequest = (r) => {
    if (/\/v1\/uploads\/upload_\w+\/action/.test(r.url())) refreshes.push('complete');
    else if (r.method() === 'GET' && /\/v1\/uploads\/upload_/.test(r.url())) refreshes.push('get');
  };
  page.on('request', onRequest);
  try {
    await page.locator('#file-input').setInputFiles({ name: 'flaky.png', mimeType: 'image/png', buffer: png(20, 20) });
    await row('flaky.png').getByRole('button', { name: 'Upload flaky.png' }).click();
    await waitStatus('flaky.png', 'imported');
  } finally {
    await page.unroute(/\/parts\//);
    page.off('request', onRequest);
  }
  assert.deepEqual(answers, [], 'both refusals were met');
  assert.equal(refreshes[0], 'get', 'the 403 made the page fetch fresh part URLs before it completed');
  assert.equal(refreshes.filter((r) => r === 'complete').length, 1);
});

test('a cancelled upload resumes and sends only the parts not stored', async () => {
  const big = png(1800, 1830, { noise: true }); // two parts: 8 MiB and about 1.4 MiB
  const puts = [];
  const onRequest = (request) => {
    const m = request.method() === 'PUT' && request.url().match(/\/parts\/[^/]+\/(\d+)\?/);
    if (m) puts.push(Number(m[1]));
  };
  page.on('request', onRequest);
  // A slow uplink (about 1.5 MB/s), so the big part is still on its way when cancelled.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1.5e6,
  });
  try {
    await page.locator('#file-input').setInputFiles({ name: 'slow.png', mimeType: 'image/png', buffer: big });
    const part2 = page.waitForResponse((r) => /\/parts\/[^/]+\/2\?/.test(r.url()) && r.status() === 200);
    await row('slow.png').getByRole('button', { name: 'Upload slow.png' }).click();
    await part2;
    await row('slow.png').getByRole('button', { name: 'Cancel slow.png' }).click();
    await waitStatus('slow.png', 'cancelled');
  } finally {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
    });
  }
  assert.deepEqual([...puts].sort(), [1, 2], 'both parts were started');
  // The person's own cancel is neutral, not an error.
  assert.doesNotMatch(await row('slow.png').locator('.status').getAttribute('class'), /\bbad\b/);
  const said = row('slow.png').locator('.message');
  assert.match(await said.getAttribute('class'), /\bneutral\b/);
  assert.match(await said.innerText(), /You cancelled this upload/);
  await capture('upload-cancelled');
  puts.length = 0;
  await row('slow.png').getByRole('button', { name: 'Resume slow.png' }).click();
  await waitStatus('slow.png', 'imported', 60000);
  page.off('request', onRequest);
  assert.deepEqual(puts, [1], 'only the part not stored was sent again');
});

test('an import by URL is followed to imported and previewed', async () => {
  const url = `http://127.0.0.1:${origin.address().port}/remote-cat.png`;
  await page.getByLabel('Source').selectOption('url');
  await page.locator('#import-value').fill(url);
  await page.locator('#import-kind').selectOption('image');
  await page.getByRole('button', { name: 'Import' }).click();
  await waitStatus('remote-cat.png', 'imported');
  const img = row('remote-cat.png').locator('img.media');
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  // A refused import shows the server's reason.
  await page.locator('#import-value').fill('ftp://example.com/x.png');
  await page.getByRole('button', { name: 'Import' }).click();
  await page.locator('#import-error', { hasText: 'http' }).waitFor();
  await capture('import-refused');
});

test('Hugging Face and Civitai imports become models whose metadata is shown', async () => {
  await page.getByLabel('Source').selectOption('huggingface');
  assert.ok(await page.locator('#import-kind-field').isHidden(), 'a hub import is always a model: no kind to pick');
  await page.locator('#import-value').fill('web-tests/tiny-lora');
  await page.getByRole('button', { name: 'Import' }).click();
  await waitStatus('tiny.safetensors', 'imported');
  const hf = await previewText('tiny.safetensors', /tiny-lora/);
  assert.match(hf, /tiny-lora/);
  assert.match(hf, /Source\s+huggingface/);
  assert.match(hf, /Type\s+\S+/);

  const civitaiUrl = `http://127.0.0.1:${origin.address().port}/models/7?modelVersionId=70`;
  await page.getByLabel('Source').selectOption('civitai');
  await page.locator('#import-value').fill(civitaiUrl);
  await page.getByRole('button', { name: 'Import' }).click();
  await waitStatus('tiny_civitai.safetensors', 'imported');
  const civitai = await previewText('tiny_civitai.safetensors', /Tiny Civitai LoRA/);
  assert.match(civitai, /Tiny Civitai LoRA/);
  assert.match(civitai, /Source\s+civitai/);
  await page.getByLabel('Source').selectOption('url');
  await capture('hub-imports');
});

test('a glb is previewed in the 3D viewer', async () => {
  await page.locator('#file-input').setInputFiles({
    name: 'triangle.glb', mimeType: 'model/gltf-binary', buffer: glbTriangle(),
  });
  assert.equal(await row('triangle.glb').getByLabel('Kind').inputValue(), '3d');
  await row('triangle.glb').getByRole('button', { name: 'Upload triangle.glb' }).click();
  await waitStatus('triangle.glb', 'imported');
  const viewer = row('triangle.glb').locator('model-viewer');
  await viewer.waitFor();
  await page.waitForFunction((el) => el.loaded === true, await viewer.elementHandle(), { timeout: 30000 });
  const details = await row('triangle.glb').locator('dl.details').innerText();
  assert.match(details, /Vertices\s+3/);
  assert.match(details, /Faces\s+1/);
  assert.match(details, /Normals\s+no/);
  await capture('glb-viewer');
});

test('recent uploads are listed newest first and filter by status and kind', async () => {
  await page.getByRole('button', { name: 'Refresh' }).click();
  const names = () => page.locator('#recent tbody tr td:first-child').allInnerTexts();
  await page.waitForFunction(() => document.querySelectorAll('#recent tbody tr').length === 9);
  assert.deepEqual(await names(), ['triangle.glb', 'tiny_civitai.safetensors', 'tiny.safetensors',
    'remote-cat.png', 'slow.png', 'flaky.png', 'big.png', 'junk.dat', 'cat.png']);
  await page.locator('#filter-status').selectOption('failed');
  await page.waitForFunction(() => document.querySelectorAll('#recent tbody tr').length === 1);
  assert.deepEqual(await names(), ['junk.dat']);
  await page.getByRole('button', { name: 'Show junk.dat' }).click();
  await page.locator('#preview', { hasText: 'expected an image' }).waitFor();
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'preview-panel');
  await capture('recent-failed-preview');
  await page.locator('#filter-status').selectOption('');
  await page.locator('#filter-kind').selectOption('3d');
  await page.waitForFunction(() => document.querySelectorAll('#recent tbody tr').length === 1);
  assert.deepEqual(await names(), ['triangle.glb']);
  // A row per upload with its file-type icon.
  const icon = page.locator('#recent tbody tr img.icon');
  assert.match(await icon.getAttribute('src'), /\/web\/vendor\/icons\/3d\.svg$/);
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await icon.elementHandle());
  await capture('recent-filtered');
  // No match: a way back to everything.
  await page.locator('#filter-status').selectOption('failed');
  await page.locator('#recent-empty', { hasText: 'No uploads match these filters.' }).waitFor();
  await capture('recent-no-match');
  await page.getByRole('button', { name: 'Show all uploads' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#recent tbody tr').length === 9);
  // The other project has none of them, and switching to it empties the page.
  await page.getByLabel('Project').selectOption('proj_other');
  await page.locator('#recent-empty', { hasText: 'No uploads in this project yet' }).waitFor();
  assert.equal(await page.locator('#queue li').count(), 0, 'the uploads of the other project left the page');
  assert.ok(await page.locator('#preview-panel').isHidden());
  assert.equal(await page.title(), 'proj_other · intake');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('intake.project')), 'proj_other');
});

/** The focused element, described: its id, else its accessible label, else its tag. */
function focused() {
  return page.evaluate(() => {
    const e = document.activeElement;
    return e.id || e.getAttribute('aria-label') || `${e.tagName.toLowerCase()}.${e.className}`;
  });
}

/** Presses Tab until the focus is on `target` (see focused()); fails after `max` presses. */
async function tabTo(target, max = 40) {
  const path = [];
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    const now = await focused();
    path.push(now);
    if (now === target) return path;
  }
  assert.fail(`Tab never reached ${target}: ${path.join(' > ')}`);
}

test('keyboard only: choose a file, pick its kind, upload, cancel, resume, open it from the list', async () => {
  // In proj_other, where the last test left the page. Start from the top of the page.
  // The file chooser is intercepted from now (playwright turns that on asynchronously: well
  // before the key press that opens it).
  const chooser = page.waitForEvent('filechooser');
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  const path = await tabTo('choose-files', 6);
  assert.ok(path.includes('project') && path.includes('sign-out'), `the header comes first: ${path.join(' > ')}`);
  await page.keyboard.press('Enter');
  const big = png(1800, 1830, { noise: true }); // two parts
  await (await chooser).setFiles({ name: 'keys.png', mimeType: 'image/png', buffer: big });
  await page.locator('#live', { hasText: '1 file ready' }).waitFor();
  // The kind picker: the next stop; End picks the last kind, "Any file".
  await page.keyboard.press('Tab');
  assert.match(await focused(), /^kind-/);
  await page.keyboard.press('End');
  assert.equal(await row('keys.png').getByLabel('Kind').inputValue(), 'asset');
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'Upload keys.png');
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1.5e6,
  });
  try {
    const part2 = page.waitForResponse((r) => /\/parts\/[^/]+\/2\?/.test(r.url()) && r.status() === 200);
    await page.keyboard.press('Enter');
    // The Upload button became Cancel, and the focus went with it.
    await page.waitForFunction(() => document.activeElement.getAttribute('aria-label') === 'Cancel keys.png');
    assert.match(await page.title(), /^Uploading 1 file · proj_other · intake$/);
    await part2;
    await page.keyboard.press('Enter');
    await waitStatus('keys.png', 'cancelled');
    assert.equal(await focused(), 'Resume keys.png');
    await page.locator('#live', { hasText: 'keys.png: cancelled' }).waitFor();
  } finally {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
    });
    await cdp.detach();
  }
  await page.keyboard.press('Enter');
  await waitStatus('keys.png', 'imported', 60000);
  assert.equal(await page.title(), 'proj_other · intake');
  // The list: its Preview button is reachable by Tab, and opens the panel with the focus on it.
  await page.locator('#recent tbody tr', { hasText: 'keys.png' }).waitFor();
  await tabTo('Preview keys.png');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement.id === 'preview-panel');
  await page.locator('#preview dl.details').waitFor();
  await capture('keyboard-preview');
});

test('the recent list shows the thumbnail the server made per image, an icon otherwise', async () => {
  // Back to proj_web: a fresh session, so every asset is read again.
  await page.getByLabel('Project').selectOption('proj_web');
  await page.waitForFunction(() => document.querySelectorAll('#recent tbody tr').length === 9);
  const rowOf = (name) => page.locator('#recent tbody tr').filter({ has: page.locator(`.file-name:text-is("${name}")`) });
  for (const name of ['cat.png', 'big.png', 'flaky.png', 'slow.png', 'remote-cat.png']) {
    const thumb = rowOf(name).locator('img.thumb');
    await thumb.waitFor();
    // intake's own thumbnail (a signed URL of its PNG), not the file itself.
    assert.match(await thumb.getAttribute('src'), /\/files\/asset_[^/?]+\/thumbnail\?expires=\d+&signature=[0-9a-f]{64}$/, name);
    await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await thumb.elementHandle());
  }
  // A 3D model has no thumbnail: its row keeps the file-type icon.
  assert.match(await rowOf('triangle.glb').locator('img.icon').getAttribute('src'), /icons\/3d\.svg$/);
  assert.equal(await rowOf('triangle.glb').locator('img.thumb').count(), 0);
  const iconOf = (name) => rowOf(name).locator('img.icon').getAttribute('src');
  assert.match(await iconOf('tiny.safetensors'), /icons\/model\.svg$/);
  assert.match(await iconOf('junk.dat'), /icons\/image\.svg$/, 'a failed image has no asset: its icon');
  await capture('recent-list');
});

test('the page logged no errors and broke no Content-Security-Policy rule', async () => {
  assert.deepEqual(problems, []);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#sign-in').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
});

test('signing out mid-upload is a clean slate: the next key finds nothing of the first', async () => {
  // Project A: sign in again, by the form.
  await page.getByLabel('API key').fill(KEY);
  await page.getByLabel('API secret').fill(SECRET);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#recent tbody tr').first().waitFor();
  const seenBefore = []; // every request of A's stretch
  const onRequestA = (r) => seenBefore.push(r.url());
  page.on('request', onRequestA);

  // Something of every sort in flight or on show: an import the origin holds back (polled),
  // a file waiting with its local picture (an object URL), a preview open, and a big upload
  // on a slow uplink.
  await page.locator('#import-value').fill(`http://127.0.0.1:${origin.address().port}/held-cat.png`);
  await page.locator('#import-kind').selectOption('image');
  await page.getByRole('button', { name: 'Import' }).click();
  await waitStatus('held-cat.png', 'pending');
  await page.locator('#file-input').setInputFiles({ name: 'a-waiting.png', mimeType: 'image/png', buffer: png(16, 16) });
  const blobUrl = await row('a-waiting.png').locator('img.thumb').getAttribute('src');
  await page.getByRole('button', { name: 'Preview cat.png', exact: true }).click();
  await page.locator('#preview img.media').waitFor();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 300e3,
  });
  let secretUpload;
  try {
    const firstPart = page.waitForRequest((r) => r.method() === 'PUT' && /\/parts\//.test(r.url()));
    await page.locator('#file-input').setInputFiles({
      name: 'a-secret.png', mimeType: 'image/png', buffer: png(1800, 1830, { noise: true }),
    });
    await row('a-secret.png').getByRole('button', { name: 'Upload a-secret.png' }).click();
    secretUpload = (await firstPart).url().match(/\/parts\/([^/]+)\//)[1];
    await waitStatus('a-secret.png', 'sending…');
    assert.equal(await page.title(), 'Uploading 2 files · proj_web · intake');
    await capture('uploading');

    // Sign out mid-upload; from here on, every request is recorded, with whether the sign-out
    // aborted it.
    page.off('request', onRequestA);
    const sent = [];
    page.on('request', (r) => sent.push({ request: r, headers: r.allHeaders() }));
    const aborted = new Set();
    page.on('requestfailed', (r) => { if (/ABORTED/.test(r.failure()?.errorText || '')) aborted.add(r); });
    const partAborted = page.waitForEvent('requestfailed',
      (r) => r.method() === 'PUT' && r.url().includes(`/parts/${secretUpload}/`));
    // The click in the page, with the page's clock read in the same task: a poll the page sent
    // while the test was reaching for the button (recorded above) went out before the sign-out.
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const signedOutAt = await page.evaluate(() => {
      const at = Date.now();
      document.getElementById('sign-out').click();
      return at;
    });
    await page.locator('#sign-in').waitFor();
    assert.equal(await page.title(), 'Sign in · intake');
    assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);
    assert.equal(await page.getByLabel('API key').inputValue(), '');
    // The part on its way was aborted, and the object URL revoked.
    assert.match((await partAborted).failure().errorText, /ABORTED/);
    assert.equal(await page.evaluate((url) => fetch(url).then(() => 'readable', () => 'revoked'), blobUrl), 'revoked');
    await capture('signed-out');

    // Project B's key signs in, and uploads a file of its own.
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
    });
    await page.getByLabel('API key').fill(KEY_B);
    await page.getByLabel('API secret').fill(SECRET_B);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#recent-empty', { hasText: 'No uploads in this project yet' }).waitFor();
    assert.equal(await page.title(), 'proj_b · intake');
    await page.locator('#file-input').setInputFiles({ name: 'b-file.png', mimeType: 'image/png', buffer: png(8, 8) });
    await row('b-file.png').getByRole('button', { name: 'Upload b-file.png' }).click();
    await waitStatus('b-file.png', 'imported');
    await page.waitForFunction(() => document.querySelectorAll('#recent tbody tr').length === 1);
    await capture('other-key');

    // Nothing of A's in the DOM (markup, form values, title) ...
    const aUploads = [...new Set(seenBefore.flatMap((u) => u.match(/upload_\w+/g) || []))];
    const aAssets = [...new Set(seenBefore.flatMap((u) => u.match(/asset_\w+/g) || []))];
    assert.ok(aUploads.includes(secretUpload) && aAssets.length > 0, 'A had uploads and assets on show');
    const markers = [KEY, 'proj_web', 'proj_other', 'a-secret.png', 'a-waiting.png', 'held-cat.png',
      blobUrl, ...aUploads, ...aAssets];
    const dom = await page.evaluate(() => [
      document.documentElement.outerHTML, document.title,
      ...[...document.querySelectorAll('input, select')].map((e) => e.value),
    ].join('\n'));
    assert.deepEqual(markers.filter((m) => dom.includes(m)), [], 'nothing of the first key in the page');
    // ... nor in storage ...
    const stored = await page.evaluate(() => ({
      session: Object.fromEntries(Object.entries(sessionStorage)), local: localStorage.length,
    }));
    assert.deepEqual(stored, { session: { 'intake.apiKey': KEY_B, 'intake.apiSecret': SECRET_B, 'intake.project': 'proj_b' }, local: 0 });
    // ... nor in any request sent since the sign-out: no PUT, poll or list of A's, no A credentials.
    // (The one read of the revoked object URL is the test's own probe above.)
    // A request counts if the browser sent it after the click (`startTime`, known once it was
    // answered) and the sign-out did not abort it: A's part PUT in flight, or a poll sent just
    // before the click, were cut off by the sign-out, not sent after it.
    const requests = (await Promise.all(sent.map(async ({ request, headers }) => ({
      method: request.method(), url: request.url(), authorization: (await headers).authorization,
      after: request.timing().startTime >= signedOutAt && !aborted.has(request),
    })))).filter((r) => r.url !== blobUrl && r.after);
    const aAuth = basicAuth(KEY, SECRET);
    const leaks = requests.filter((r) => r.authorization === aAuth
      || markers.some((m) => r.url.includes(m)));
    assert.deepEqual(leaks, [], 'requests after sign-out');
    assert.ok(requests.some((r) => r.authorization === basicAuth(KEY_B, SECRET_B)), 'B worked meanwhile');
  } finally {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
    }).catch(() => {});
    await cdp.detach().catch(() => {});
  }
  // And on the server: A's upload was never completed (its complete was never sent).
  const left = await fetch(`${base}/v1/uploads/${secretUpload}?projectId=proj_web`, {
    headers: { authorization: basicAuth(KEY, SECRET) },
  });
  assert.equal((await left.json()).upload.status, 'pending');
  for (const release of held.splice(0)) release();
  assert.deepEqual(problems, []);
});
