// The demo page (www/) in Debian's headless Chromium, driven by
// playwright-core, against a devserver that serves www/ and the built
// package (pkg/). Each test file starts one devserver and one browser.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { startDevserver } from '../../js/support/devserver.mjs';

export { startDevserver };

const root = fileURLToPath(new URL('../../../', import.meta.url));
export const artifacts = join(root, 'tests', 'e2e', 'artifacts');

/**
 * Starts a devserver serving a page (`www`, the demo page www/ by default)
 * at /demo/ and the package (pkg/, or `TOKENKEEPER_PKG`) at /pkg/. It serves
 * a private copy of the package, since another `cargo xtask build` in this
 * checkout empties pkg/ while it runs.
 */
export async function startDemoServer(args = [], { www = join(root, 'www') } = {}) {
  const source = process.env.TOKENKEEPER_PKG ?? join(root, 'pkg');
  if (!existsSync(join(source, 'index.js'))) throw new Error(`${source} holds no package: run \`cargo xtask build\``);
  const pkg = await mkdtemp(join(tmpdir(), 'tokenkeeper-pkg-'));
  await cp(source, pkg, { recursive: true });
  const server = await startDevserver(['--www', www, '--pkg', pkg, ...args]);
  const stop = server.stop;
  server.stop = async () => {
    await stop();
    await rm(pkg, { recursive: true, force: true });
  };
  return server;
}

/** Debian's Chromium, headless, with a fresh profile; `close()` removes the profile. */
export async function launch() {
  const profile = await mkdtemp(join(tmpdir(), 'tokenkeeper-e2e-'));
  await mkdir(artifacts, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the demo server (devserver `args`) and Chromium before the test
 * file runs and stops both after it; `demo.server` and `demo.browser` hold
 * them meanwhile.
 */
export function useDemo(args) {
  const demo = { server: null, browser: null };
  before(async () => {
    demo.server = await startDemoServer(args);
    demo.browser = await launch();
  });
  after(async () => {
    await demo.browser?.close();
    await demo.server?.stop();
  });
  return demo;
}

/** A new tab on the demo page (its own sessionStorage), ready once `body[data-ready]`. */
export async function openDemo(context, server, { viewport } = {}) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.errors = errors;
  await page.goto(`${server.url}/demo/`);
  await page.waitForSelector('body[data-ready="true"]');
  return page;
}

/** How many timeline entries of this type the page shows. */
export function count(page, type) {
  return page.locator(`#timeline li[data-event="${type}"]`).count();
}

/** Waits until the timeline shows at least `n` entries of `type`; resolves to the newest one's text. */
export async function waitEvent(page, type, n = 1, timeout = 20_000) {
  await page.waitForFunction(
    ([t, k]) => document.querySelectorAll(`#timeline li[data-event="${t}"]`).length >= k,
    [type, n],
    { timeout },
  );
  return page.locator(`#timeline li[data-event="${type}"] .text`).first().textContent();
}

/** Chooses an API style by its radio button. */
export async function chooseStyle(page, id) {
  await page.check(`#style-${id}`);
}

/** Clicks "Call the API" and resolves to the status code shown. */
export async function callApi(page) {
  const before = await count(page, 'api');
  await page.click('#call-api');
  await waitEvent(page, 'api', before + 1);
  return page.locator('#api-status').getAttribute('data-status');
}

/** The session badge's status (`active`, `loggedOut`, `ended`). */
export function status(page) {
  return page.locator('#status').getAttribute('data-status');
}

/** Saves a screenshot as a test artifact. */
export function shot(page, name, options = {}) {
  return page.screenshot({ path: join(artifacts, `${name}.png`), ...options });
}

/** The texts of the timeline, oldest first (for failure messages). */
export async function timeline(page) {
  const texts = await page.locator('#timeline li').allTextContents();
  return texts.reverse().join('\n');
}
