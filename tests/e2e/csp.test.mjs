// The package under a Content Security Policy in headless Chromium. A
// small static server (node:http on 127.0.0.1) serves the page
// (tests/e2e/csp/) and a private copy of the package with the policy of
// each test in its Content-Security-Policy header; a devserver on another
// port is the identity provider, another origin, as in production:
//
// * `script-src 'self'`: compiling the .wasm is refused, and every browser
//   entry throws AUTH_WASM_BLOCKED with the advice;
// * `'wasm-unsafe-eval'` added, `connect-src` listing the identity provider:
//   login and an API call work;
// * the identity provider missing from `connect-src`: the module loads but
//   the login request is refused and never reaches the server.
//
// (The header comes from a real server rather than from Playwright's
// routing: Chromium puts a routed document in no address space, and then
// refuses its requests to loopback for another reason than the policy.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, startDevserver } from './support/demo.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pageDir = join(root, 'tests', 'e2e', 'csp');

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/**
 * Serves `/<n>/…` from the page directory with `policies[n]` as the
 * Content-Security-Policy, and `/pkg/…` from `pkg`, on 127.0.0.1.
 */
async function startPageServer(pkg, policies) {
  const http = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const [, first, ...rest] = path.split('/');
    const file = first === 'pkg' ? join(pkg, ...rest) : join(pageDir, ...rest);
    const policy = policies[Number(first)];
    try {
      const body = await readFile(file);
      const headers = { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' };
      if (policy !== undefined) headers['content-security-policy'] = policy;
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${http.address().port}`,
    stop: () => new Promise((resolve) => http.close(resolve)),
  };
}

const policies = [];
let pkg;
let server;
let idp;
let browser;

before(async () => {
  // A private copy: another `cargo xtask build` empties pkg/ while it runs.
  const source = process.env.TOKENKEEPER_PKG ?? join(root, 'pkg');
  if (!existsSync(join(source, 'index.js'))) throw new Error(`${source} holds no package: run \`cargo xtask build\``);
  pkg = await mkdtemp(join(tmpdir(), 'tokenkeeper-pkg-'));
  await cp(source, pkg, { recursive: true });
  server = await startPageServer(pkg, policies);
  idp = await startDevserver(['--cors-origin', server.url]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await idp?.stop();
  await server?.stop();
  if (pkg) await rm(pkg, { recursive: true, force: true });
});

/**
 * The package's browser entries as its package.json declares them: the
 * `browser` condition of `.` and, where there is one, the default of
 * `./init`.
 */
async function browserEntries() {
  const { exports } = JSON.parse(await readFile(join(pkg, 'package.json'), 'utf8'));
  const entries = [exports['.'].browser.default, exports['./init']?.default?.default];
  return entries.filter(Boolean).map((entry) => entry.replace(/^\.\//, ''));
}

/** A new tab on the page, served with `policy` as its Content-Security-Policy. */
async function openWith(policy) {
  policies.push(policy);
  const page = await browser.context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  await page.goto(`${server.url}/${policies.length - 1}/index.html`);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

const run = (page, fn, arg) => page.evaluate(([f, a]) => window[f](a), [fn, arg]);

test("script-src 'self': every browser entry throws AUTH_WASM_BLOCKED with the advice", async () => {
  const page = await openWith("script-src 'self'");
  try {
    const entries = await browserEntries();
    assert.ok(entries.includes('index.js'), JSON.stringify(entries));
    for (const entry of entries) {
      const outcome = await run(page, 'importEntry', entry);
      assert.equal(outcome.ok, false, `${entry}: ${JSON.stringify(outcome)}`);
      assert.equal(outcome.isTokenKeeperError, true, JSON.stringify(outcome));
      assert.equal(outcome.code, 'AUTH_WASM_BLOCKED', JSON.stringify(outcome));
      assert.match(outcome.message, /Content Security Policy/);
      assert.match(outcome.message, /script-src 'self' 'wasm-unsafe-eval'/);
      assert.match(outcome.message, /connect-src/);
      // The browser's own error, kept as the cause.
      assert.match(outcome.cause, /^CompileError: .*(Content Security Policy|unsafe-eval)/, outcome.cause);
    }
    const violations = await page.evaluate(() => window.violations);
    assert.ok(
      violations.some((v) => v.directive === 'script-src' && v.blocked === 'wasm-eval'),
      `the browser reports the refused compile: ${JSON.stringify(violations)}`,
    );
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
  }
});

test("'wasm-unsafe-eval' and connect-src for the identity provider: login and the API work", async () => {
  const before = await idp.stats();
  const page = await openWith(
    `default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ${idp.url}`,
  );
  try {
    const loaded = await run(page, 'importEntry', 'index.js');
    assert.equal(loaded.ok, true, JSON.stringify(loaded));
    assert.match(loaded.version, /^\d+\.\d+\.\d+/);
    const login = await run(page, 'loginAt', idp.url);
    assert.deepEqual(login, { ok: true, status: 'active', api: 200 });
    const after = await idp.stats();
    assert.equal((after.requests['lgdx.login'] ?? 0) - (before.requests['lgdx.login'] ?? 0), 1);
    assert.equal((after.requests['lgdx.realms'] ?? 0) - (before.requests['lgdx.realms'] ?? 0), 1);
    assert.deepEqual(await page.evaluate(() => window.violations), []);
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
  }
});

test('the identity provider missing from connect-src: the login request is refused before it is sent', async () => {
  const before = await idp.stats();
  const page = await openWith("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'");
  try {
    assert.equal((await run(page, 'importEntry', 'index.js')).ok, true);
    const login = await run(page, 'loginAt', idp.url);
    assert.equal(login.ok, false, JSON.stringify(login));
    assert.equal(login.code, 'AUTH_NETWORK', JSON.stringify(login));
    const violations = await page.evaluate(() => window.violations);
    assert.ok(
      violations.some((v) => v.directive === 'connect-src' && v.blocked.startsWith(idp.url)),
      JSON.stringify(violations),
    );
    const after = await idp.stats();
    assert.equal(after.requests['lgdx.login'] ?? 0, before.requests['lgdx.login'] ?? 0, 'nothing reached the server');
  } finally {
    await page.close();
  }
});
