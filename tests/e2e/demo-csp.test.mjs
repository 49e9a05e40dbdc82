// The demo page (www/) under a strict Content-Security-Policy, sent by the
// devserver (`--csp`) with every file of /demo/, in headless Chromium:
//
// * without 'wasm-unsafe-eval' the browser refuses to compile the package's
//   .wasm, and the page says why: AUTH_WASM_BLOCKED with the advice;
// * with it, the same strict policy otherwise (no inline script or style,
//   requests to the page's own origin only), a login, a refresh and an API
//   call work, and the browser reports no violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, shot, startDemoServer, waitEvent, callApi, chooseStyle } from './support/demo.mjs';

/** Everything from the page's own origin; scripts, styles and requests alike. */
const STRICT = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'";
const WITH_WASM = STRICT.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'");

let blocked;
let allowed;
let browser;

before(async () => {
  blocked = await startDemoServer(['--csp', STRICT]);
  allowed = await startDemoServer(['--csp', WITH_WASM, '--access-ttl', '4']);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await blocked?.stop();
  await allowed?.stop();
});

/** The demo in a new tab, with the policy violations it reports recorded in `window.violations`. */
async function open(server) {
  const page = await browser.context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  await page.addInitScript(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }),
    );
  });
  const response = await page.goto(`${server.url}/demo/`);
  return { page, policy: response.headers()['content-security-policy'] };
}

test("script-src 'self': the demo says the package was blocked and what the policy must allow", async () => {
  const { page, policy } = await open(blocked);
  try {
    assert.equal(policy, STRICT, 'the devserver sends the policy');
    await page.waitForSelector('#startup-error:not([hidden])', { timeout: 20_000 });
    assert.equal(await page.locator('#startup-error code').textContent(), 'AUTH_WASM_BLOCKED');
    const advice = await page.locator('#startup-error span').textContent();
    assert.match(advice, /Content Security Policy/);
    assert.match(advice, /'wasm-unsafe-eval'/);
    assert.equal(await page.locator('body[data-ready="true"]').count(), 0, 'the demo did not start');
    const violations = await page.evaluate(() => window.violations);
    assert.ok(
      violations.some((v) => v.directive === 'script-src' && v.blocked === 'wasm-eval'),
      JSON.stringify(violations),
    );
    assert.equal(violations.length, 1, `only the compile was refused: ${JSON.stringify(violations)}`);
    await shot(page, 'csp-blocked');
  } finally {
    await page.close();
  }
});

test("'wasm-unsafe-eval' added: the demo logs in, refreshes and calls the API with no violation", async () => {
  const { page, policy } = await open(allowed);
  try {
    assert.equal(policy, WITH_WASM);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    assert.equal(await page.locator('#startup-error').isHidden(), true);
    await chooseStyle(page, 'kc-password');
    await page.click('#login');
    await waitEvent(page, 'login');
    // 4 s tokens: the keeper's own refresh comes within seconds.
    await waitEvent(page, 'refreshed');
    assert.equal(await callApi(page), '200');
    await page.click('#logout');
    await waitEvent(page, 'logout');
    assert.deepEqual(await page.evaluate(() => window.violations), []);
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
  }
});
