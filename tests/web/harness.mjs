// What the end-to-end test stands on: the intake binary on a free loopback port, Debian's
// headless Chromium through playwright-core, axe-core injected into the page, and screenshots
// of each state at desktop size and 375 px wide.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const DESKTOP = { width: 1100, height: 900 };
export const PHONE = { width: 375, height: 812 };

export function freePort() {
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

/** Starts `bin serve` with `env` on a free port; resolves with `{process, base}` once healthy. */
export async function startIntake(bin, env) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['serve'], {
    env: { ...process.env, INTAKE_LISTEN: `127.0.0.1:${port}`, INTAKE_LOG: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitHealthy(base, 30000);
  return { process: child, base };
}

/** The `Authorization` header value of a key. */
export function basicAuth(key, secret) {
  return `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
}

/** Launches Chromium with a fresh profile; resolves with `{context, page}`. */
export async function launchBrowser(executablePath, profile) {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: DESKTOP,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  return { context, page };
}

/**
 * With `webDir` set (WEB_E2E_WEB_DIR), the page's files come from that folder instead of the
 * binary's bundled copies, with intake's own headers (its Content-Security-Policy included):
 * edit the page and run again without rebuilding intake. The suite must also pass without it.
 */
export async function servePageFrom(context, base, webDir) {
  const origin = new URL(base).origin;
  await context.route((url) => url.origin === origin && (url.pathname === '/' || url.pathname.startsWith('/web/')),
    async (route) => {
      const response = await route.fetch();
      const path = new URL(route.request().url()).pathname;
      if (response.status() !== 200) return route.fulfill({ response });
      const file = path === '/' ? 'index.html' : path.slice('/web/'.length);
      return route.fulfill({ response, body: readFileSync(join(webDir, file)) });
    });
}

/**
 * axe-core's "serious" and "critical" violations on the page as it is now (WCAG 2.x A and AA
 * rules and axe's best practices), one line each. axe is evaluated through the DevTools
 * protocol, so the page's Content-Security-Policy needs no exception for it.
 */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help}; at ${v.nodes.slice(0, 5).map((n) => n.target.join(' ')).join(' | ')}`
        + `${v.nodes[0] && v.nodes[0].failureSummary ? ` -- ${v.nodes[0].failureSummary.replace(/\s+/g, ' ')}` : ''}`);
  });
}

/**
 * Checks one state of the page and keeps pictures of it: axe-core finds nothing serious at
 * desktop size nor 375 px wide, nothing is wider than the phone's screen, and both are
 * saved as `NN-name.png` and `NN-name-375.png` in `out`.
 */
export function capturer(page, out) {
  let number = 0;
  return async function capture(name) {
    number += 1;
    const file = `${String(number).padStart(2, '0')}-${name}`;
    assert.deepEqual(await axeViolations(page), [], `axe-core, state "${name}", desktop`);
    await page.screenshot({ path: join(out, `${file}.png`), fullPage: true });
    await page.setViewportSize(PHONE);
    try {
      assert.deepEqual(await axeViolations(page), [], `axe-core, state "${name}", 375 px wide`);
      const overflow = await page.evaluate(() => {
        const wide = [...document.querySelectorAll('body *')]
          .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > window.innerWidth + 1)
          .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}.${e.className}`);
        return { scroll: document.documentElement.scrollWidth - window.innerWidth, wide };
      });
      assert.ok(overflow.scroll <= 0, `state "${name}" is wider than 375 px: ${JSON.stringify(overflow)}`);
      await page.screenshot({ path: join(out, `${file}-375.png`), fullPage: true });
    } finally {
      await page.setViewportSize(DESKTOP);
    }
  };
}
