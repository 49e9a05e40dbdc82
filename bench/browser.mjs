// (7) Start-up in a real browser. One small page per library (browser/*.html:
// import the library, construct one client, record performance.now()), plus
// an empty page as the baseline and tokenkeeper's page again with
// <link rel="modulepreload"> for its script and <link rel="preload"> for its
// .wasm. Vite (the toolchain matrix's, installed by `cargo xtask setup`)
// builds them; a static server on 127.0.0.1 serves the build; headless
// Chromium opens each page in a fresh browser context per sample (empty HTTP
// cache), the pages interleaved, the order alternating.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { median, quantile } from './lib.mjs';

const here = new URL('.', import.meta.url).pathname;
const SRC = join(here, 'browser');
/** The pages in browser/; `tokenkeeper-preload` is derived from `tokenkeeper` after the build. */
export const PAGES = ['empty', 'tokenkeeper', 'tokenkeeper-preload', 'oidc-client-ts', 'keycloak-js', 'auth0-spa-js'];
/** Where nothing listens: a page that fetched from its provider would show up in `providerRequests`. */
const PROVIDER_PORT = ':9/';
/** How long one page may take to post its figures. */
const PAGE_TIMEOUT_MS = 20_000;
/**
 * The network each page is opened on: loopback as it is, and loopback with
 * DevTools network emulation (added latency per request, bandwidth caps).
 */
export const NETWORKS = {
  loopback: null,
  throttled: { offline: false, latency: 40, downloadThroughput: (10e6 / 8) | 0, uploadThroughput: (5e6 / 8) | 0 },
};

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
};

/** Builds the pages with Vite into `outDir`, then writes the preload variant. Returns the Vite version. */
async function buildPages({ pkg, viteDir, outDir }) {
  const vite = await import(pathToFileURL(join(viteDir, 'dist', 'node', 'index.js')).href);
  const input = Object.fromEntries(
    readdirSync(SRC)
      .filter((f) => f.endsWith('.html'))
      .map((f) => [f.slice(0, -5), join(SRC, f)]),
  );
  await vite.build({
    configFile: false,
    root: SRC,
    logLevel: 'warn',
    resolve: { alias: { tokenkeeper: join(pkg, 'index.js') } },
    build: { outDir, emptyOutDir: true, rollupOptions: { input } },
  });
  const html = readFileSync(join(outDir, 'tokenkeeper.html'), 'utf8');
  const script = html.match(/<script type="module"[^>]*src="([^"]+)"/)?.[1];
  const wasm = readdirSync(join(outDir, 'assets')).find((f) => f.endsWith('.wasm'));
  if (!script || !wasm) throw new Error('browser: the Vite build of tokenkeeper.html has no entry script or no .wasm asset');
  const links =
    `<link rel="modulepreload" href="${script}">\n    ` +
    `<link rel="preload" href="/assets/${wasm}" as="fetch" type="application/wasm" crossorigin>\n    `;
  writeFileSync(join(outDir, 'tokenkeeper-preload.html'), html.replace('<title>', `${links}<title>`));
  return { vite: vite.version, wasmAsset: wasm };
}

/**
 * A static server for `root` on 127.0.0.1, gzip (level 9, compressed once)
 * when the request accepts it, as a CDN would serve the build; resolves to
 * { url, close }.
 */
function serve(root) {
  const gzipped = new Map();
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let body;
    try {
      body = readFileSync(join(root, path));
    } catch {
      res.writeHead(404).end();
      return;
    }
    const headers = { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'cache-control': 'no-cache' };
    if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      if (!gzipped.has(path)) gzipped.set(path, gzipSync(body, { level: 9 }));
      body = gzipped.get(path);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = body.length;
    res.writeHead(200, headers);
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(done);
          }),
      }),
    );
  });
}

/** One page in a fresh context: the figures it posted, and requests to the provider port. */
async function sample(browser, url, network) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    if (network) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', network);
    }
    let providerRequests = 0;
    const errors = [];
    page.on('request', (r) => {
      if (r.url().includes(PROVIDER_PORT)) providerRequests++;
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url, { waitUntil: 'load', timeout: PAGE_TIMEOUT_MS });
    await page.waitForFunction(() => window.__bench, null, { timeout: PAGE_TIMEOUT_MS });
    const figures = await page.evaluate(() => window.__bench);
    if (errors.length) throw new Error(`${url}: ${errors.join('; ')}`);
    return { ...figures, providerRequests };
  } finally {
    await context.close();
  }
}

/**
 * Runs the browser start-up measurement; returns its results, or { skipped }
 * with the reason when Vite or Chromium is missing.
 */
export async function browserStart({ pkg, viteDir, chromium: chromiumBin, outDir, samples }) {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
    readFileSync(join(viteDir, 'package.json'));
    readFileSync(chromiumBin);
  } catch (e) {
    return { skipped: `needs playwright-core, Vite in ${viteDir} (cargo xtask setup) and ${chromiumBin}: ${e.message}` };
  }
  const built = await buildPages({ pkg, viteDir, outDir });
  const server = await serve(outDir);
  const browser = await chromium.launch({
    executablePath: chromiumBin,
    headless: true,
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
  const version = browser.version();
  const runs = Object.keys(NETWORKS).flatMap((n) => PAGES.map((p) => [n, p]));
  const raw = Object.fromEntries(Object.keys(NETWORKS).map((n) => [n, Object.fromEntries(PAGES.map((p) => [p, []]))]));
  try {
    // Round -1 warms the server, the disk cache and the browser process; it is not kept.
    for (let round = -1; round < samples; round++) {
      const order = round % 2 ? runs : [...runs].reverse();
      for (const [n, p] of order) {
        const figures = await sample(browser, `${server.url}/${p}.html`, NETWORKS[n]);
        if (round >= 0) raw[n][p].push(figures);
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  const networks = {};
  for (const n of Object.keys(NETWORKS)) {
    const col = (p, k) => raw[n][p].map((f) => f[k]).filter(Number.isFinite);
    const emptyMs = median(col('empty', 'ready'));
    const ready = {};
    for (const p of PAGES.filter((x) => x !== 'empty')) {
      ready[p] = { median: median(col(p, 'ready')) - emptyMs, p90: quantile(col(p, 'ready'), 0.9) - emptyMs };
    }
    const waterfall = {};
    for (const p of ['tokenkeeper', 'tokenkeeper-preload']) {
      waterfall[p] = Object.fromEntries(
        ['jsEnd', 'wasmStart', 'wasmEnd', 'ready', 'firstConstructMs', 'secondConstructMs', 'wasmRequests'].map((k) => [k, median(col(p, k))]),
      );
    }
    networks[n] = { emptyMs, emptyP90: quantile(col('empty', 'ready'), 0.9), ready, waterfall };
  }
  const providerRequests = Object.values(raw)
    .flatMap((pages) => Object.values(pages).flat())
    .reduce((count, f) => count + f.providerRequests, 0);
  return { samples, vite: built.vite, chromium: version, conditions: NETWORKS, networks, providerRequests, raw };
}
