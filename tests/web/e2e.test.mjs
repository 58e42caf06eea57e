// End to end: the real intake binary serves its upload page to Debian's headless Chromium,
// driven by playwright-core. A person's path through the page: sign in, pick a project,
// upload a real PNG and see it imported and previewed, drop a junk file, change its kind to
// image and see its failure message, upload a multi-part file, import by URL, preview a
// 3D model, filter the recent uploads. Screenshots go to $WEB_E2E_OUT (target/web-e2e/).
//
// Needs: INTAKE_BIN (the built binary). scripts/test.sh sets everything up.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
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

let intake; // the server process
let base; // http://127.0.0.1:PORT
let origin; // one HTTP server on loopback: a file for the URL import, and stand-ins for the
// Hugging Face and Civitai APIs (their real shapes, reduced to what intake reads)
let context; // the browser
let page;
const scratch = [];
const problems = []; // console errors and CSP violations: the page must have none

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

async function waitHealthy(url, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`intake did not become healthy at ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function shot(name) {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

/** The page's row of an upload on this page, by file name. */
function row(name) {
  return page.locator('#queue li.transfer').filter({ has: page.locator('.name', { hasText: name }) });
}

async function waitStatus(name, status, ms = 30000) {
  await row(name).locator(`.status:text-is("${status}")`).waitFor({ timeout: ms });
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

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  intake = spawn(BIN, ['serve'], {
    env: {
      ...process.env,
      INTAKE_LISTEN: `127.0.0.1:${port}`,
      INTAKE_DATA_DIR: data,
      INTAKE_API_KEYS: `${KEY}:${SECRET}:proj_web;proj_other`,
      // The imports below fetch from a server on loopback.
      INTAKE_IMPORT_ALLOW_PRIVATE: '1',
      INTAKE_HF_ENDPOINT: originUrl,
      INTAKE_CIVITAI_ENDPOINT: originUrl,
      INTAKE_LOG: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitHealthy(base, 30000);

  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  page = context.pages()[0] || (await context.newPage());
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

test('a wrong secret is refused with the reason, the right one signs in', async () => {
  await page.getByLabel('API key').fill(KEY);
  await page.getByLabel('API secret').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#sign-in-error', { hasText: 'wrong' }).waitFor();
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
  await shot('01-signed-in');
});

test('a real PNG uploads through the page, is imported and previewed', async () => {
  const cat = png(64, 48);
  await page.locator('#file-input').setInputFiles({ name: 'cat.png', mimeType: 'image/png', buffer: cat });
  const kind = row('cat.png').getByLabel('Kind');
  assert.equal(await kind.inputValue(), 'image', 'the kind is guessed from the file');
  await row('cat.png').getByRole('button', { name: 'Upload cat.png' }).click();
  await waitStatus('cat.png', 'imported');
  const img = row('cat.png').locator('img.media');
  await img.waitFor();
  await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
  assert.deepEqual(await img.evaluate((el) => [el.naturalWidth, el.naturalHeight]), [64, 48]);
  const details = await row('cat.png').locator('dl.details').innerText();
  assert.match(details, /width\s+64/);
  assert.match(details, /image\/png/);
  await shot('02-image-imported');
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
  await shot('03-junk-failed');
});

test('a file of several parts goes up in parallel parts with progress', async () => {
  // About 9.4 MiB of uncompressed noise: two parts of at most 8 MiB.
  const big = png(1800, 1830, { noise: true });
  assert.ok(big.length > 8 * 1024 * 1024);
  await page.locator('#file-input').setInputFiles({ name: 'big.png', mimeType: 'image/png', buffer: big });
  await row('big.png').getByRole('button', { name: 'Upload big.png' }).click();
  await waitStatus('big.png', 'imported', 60000);
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
    await shot('04-cancelled');
  } finally {
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
    });
  }
  assert.deepEqual([...puts].sort(), [1, 2], 'both parts were started');
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
  await shot('05-imported-by-url');
});

test('Hugging Face and Civitai imports become models whose metadata is shown', async () => {
  await page.getByLabel('Source').selectOption('huggingface');
  assert.ok(await page.locator('#import-kind-field').isHidden(), 'a hub import is always a model: no kind to pick');
  await page.locator('#import-value').fill('web-tests/tiny-lora');
  await page.getByRole('button', { name: 'Import' }).click();
  await waitStatus('tiny.safetensors', 'imported');
  const hf = await row('tiny.safetensors').locator('.inline-preview').innerText();
  assert.match(hf, /tiny-lora/);
  assert.match(hf, /Source\s+huggingface/);
  assert.match(hf, /Type\s+\S+/);

  const civitaiUrl = `http://127.0.0.1:${origin.address().port}/models/7?modelVersionId=70`;
  await page.getByLabel('Source').selectOption('civitai');
  await page.locator('#import-value').fill(civitaiUrl);
  await page.getByRole('button', { name: 'Import' }).click();
  await waitStatus('tiny_civitai.safetensors', 'imported');
  const civitai = await row('tiny_civitai.safetensors').locator('.inline-preview').innerText();
  assert.match(civitai, /Tiny Civitai LoRA/);
  assert.match(civitai, /Source\s+civitai/);
  await page.getByLabel('Source').selectOption('url');
  await shot('06-hub-imports');
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
  await shot('07-glb-viewer');
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
  await page.locator('#filter-status').selectOption('');
  await page.locator('#filter-kind').selectOption('3d');
  await page.waitForFunction(() => document.querySelectorAll('#recent tbody tr').length === 1);
  assert.deepEqual(await names(), ['triangle.glb']);
  await shot('08-recent-filtered');
  // The other project has none of them.
  await page.locator('#filter-kind').selectOption('');
  await page.getByLabel('Project').selectOption('proj_other');
  await page.locator('#recent-empty').waitFor();
});

test('the page logged no errors and broke no Content-Security-Policy rule', async () => {
  assert.deepEqual(problems, []);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#sign-in').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
});
