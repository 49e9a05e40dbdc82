// Several tabs of one origin sharing an LGDX-style session in localStorage,
// with single-use refresh tokens and 2-second access tokens, in headless
// Chromium (the page is tests/e2e/tabs/). Refreshes run under the cross-tab
// lock (Web Locks, or the localStorage lease without them); the other tabs
// adopt the stored tokens when the store changes, and end when it is
// cleared. The devserver counts refreshes, reuse detections and API calls
// made with an expired token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, startDemoServer } from './support/demo.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

let server;
let browser;

before(async () => {
  server = await startDemoServer(['--access-ttl', '2', '--refresh-ttl', '600'], {
    www: join(root, 'tests', 'e2e', 'tabs'),
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Opens `n` tabs on the test page with these query parameters. */
async function openTabs(n, params, { noWebLocks = false } = {}) {
  const pages = [];
  for (let i = 0; i < n; i += 1) {
    const page = await browser.context.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e));
    if (noWebLocks) await page.addInitScript(() => delete Navigator.prototype.locks);
    await page.goto(`${server.url}/demo/index.html?${new URLSearchParams(params)}`);
    await page.waitForFunction(() => window.tabs !== undefined);
    pages.push(page);
  }
  return pages;
}

/** Tab 0 logs in; the others restore first (an empty store) and adopt the login when it is stored. */
async function loggedIn(pages) {
  for (const p of pages.slice(1)) assert.equal(await p.evaluate(() => window.tabs.restore()), false);
  await pages[0].evaluate(() => window.tabs.login());
  for (const p of pages.slice(1)) {
    await p.waitForFunction(() => window.tabs.report().status === 'active', null, { timeout: 2_000 });
  }
}

const report = (p) => p.evaluate(() => window.tabs.report());
const reports = (pages) => Promise.all(pages.map(report));
const closeAll = (pages) => Promise.all(pages.map((p) => p.close()));

/** For a failure message: every tab's events (ms since `at`) and the server's counts. */
async function explain(t, pages, at) {
  const all = await Promise.all(pages.map((p) => report(p).catch(() => null)));
  all.forEach((r, i) => {
    if (!r) return;
    const events = r.log
      .filter((e) => e.at >= at - 3_000)
      .map((e) => `${e.at - at} ${e.type}${e.reason ? ` ${e.reason}` : ''}${e.error ? ` ${e.error}` : ''}`);
    t.diagnostic(`tab ${i} (${r.status}): ${events.join(', ')}`);
  });
  const stats = await server.stats();
  t.diagnostic(
    `server: refreshes ${stats.refreshes.total}, rejections ${stats.refresh_rejections.total}, ` +
      `reuse detections ${stats.reuse_detections.total}; refresh answers (ms since the logout): ` +
      stats.log
        .filter((l) => l.endpoint === 'lgdx.refresh' && l.at_ms >= at - 3_000)
        .map((l) => `${l.at_ms - at} ${l.status}`)
        .join(', '),
  );
}

/**
 * For every rotation a tab stored, how long until each other open tab
 * adopted it (`restored` with the same expiry): the lags in ms.
 */
function adoptionLags(all) {
  const lags = [];
  all.forEach((r, i) => {
    for (const e of r.log.filter((e) => e.type === 'refreshed')) {
      all.forEach((o, j) => {
        if (i === j) return;
        const seen = o.log.find((x) => x.type === 'restored' && x.expiresAt === e.expiresAt);
        if (seen) lags.push(seen.at - e.at);
      });
    }
  });
  lags.sort((a, b) => a - b);
  return lags;
}

/** 5 tabs run `rotations` rotations while calling the API; every figure is checked. */
async function rotationRun(t, { key, rotations, noWebLocks = false, timeout }) {
  await server.reset();
  const pages = await openTabs(5, { key, target: rotations }, { noWebLocks });
  try {
    await loggedIn(pages);
    const started = Date.now();
    for (const p of pages) await p.evaluate(() => window.tabs.startApi(50));
    const deadline = Date.now() + timeout;
    while (!(await reports(pages)).every((r) => r.stopped)) {
      assert.ok(Date.now() < deadline, `${rotations} rotations not done in ${timeout} ms`);
      await sleep(250);
    }
    const elapsed = Date.now() - started;
    // Nothing refreshes after the stop: the count stays put.
    await sleep(2_500);
    const all = await reports(pages);
    const stats = await server.stats();
    const seen = all.reduce((n, r) => n + r.rotations, 0);
    const lags = adoptionLags(all);
    const calls = all.reduce((n, r) => n + (r.api[200] ?? 0), 0);
    t.diagnostic(
      `${rotations} rotations in ${elapsed} ms: server refreshes ${stats.refreshes.total}, rotations seen ${seen}, ` +
        `reuse detections ${stats.reuse_detections.total}, expired-token calls ${stats.expired_token_calls}, ` +
        `API calls ${calls} (ok ${stats.protected_calls.ok}), adoption lag median ${lags[lags.length >> 1]} ms, ` +
        `max ${lags[lags.length - 1]} ms over ${lags.length} adoptions`,
    );
    // Every refresh the server counted is a rotation exactly one tab made
    // (the invariant); the tabs stop at the target, or one rotation past it
    // when the stop flag (a storage event) reaches a tab only after its
    // next refresh was already due.
    assert.equal(stats.refreshes.total, seen, 'exactly one refresh per rotation');
    assert.ok(seen >= rotations && seen <= rotations + 1, `stopped at the target (${seen} of ${rotations})`);
    assert.equal(stats.reuse_detections.total, 0);
    assert.equal(stats.refresh_rejections.total, 0);
    assert.equal(stats.expired_token_calls, 0, 'no API call with an expired token');
    assert.equal(stats.protected_calls.ok, calls);
    assert.ok(calls > 5 * rotations, `the tabs kept calling the API (${calls})`);
    for (const r of all) {
      assert.deepEqual(r.apiErrors, []);
      assert.deepEqual(Object.keys(r.api), ['200']);
      assert.equal(r.log.filter((e) => ['sessionended', 'refreshfailed'].includes(e.type)).length, 0);
    }
    assert.ok(lags.length >= 4 * (rotations - 2), `the other tabs adopted each rotation (${lags.length})`);
    assert.ok(lags[lags.length - 1] < 1_000, 'adopted within a second');
    for (const p of pages) assert.deepEqual(p.errors, []);
  } finally {
    await closeAll(pages);
  }
}

test('5 tabs, 100 rotations under Web Locks: 100 refreshes, no reuse, no expired token sent', (t) =>
  rotationRun(t, { key: 'weblocks', rotations: 100, timeout: 120_000 }));

test('5 tabs without navigator.locks (localStorage lease): 30 rotations, 30 refreshes, no reuse', (t) =>
  rotationRun(t, { key: 'lease', rotations: 30, noWebLocks: true, timeout: 60_000 }));

for (const noWebLocks of [false, true]) {
  const name = noWebLocks ? 'the lease' : 'the Web Lock';
  test(`a tab closed while it holds ${name} mid-refresh: the others take over, the session survives`, async (t) => {
    await server.reset();
    const lockTimeoutMs = noWebLocks ? 10_000 : 5_000;
    const delayMs = 8_000;
    const key = noWebLocks ? 'closed-lease' : 'closed';
    const pages = await openTabs(3, { key, lockTimeoutMs }, { noWebLocks });
    const open = [...pages];
    try {
      await loggedIn(pages);
      for (const p of pages) await p.evaluate(() => window.tabs.startApi(50));
      await sleep(1_500);
      const before = await server.stats();
      // Long enough that the tab is closed (and its connection gone) before
      // the server would answer, also on a loaded machine.
      await server.fault({ match: 'lgdx.refresh', kind: 'delay', delay_ms: delayMs });
      // The tab whose refresh reached the server holds the lock.
      const since = Date.now();
      let holder = -1;
      while (holder < 0) {
        assert.ok(Date.now() - since < 5_000, 'no refresh started');
        const stats = await server.stats();
        if ((stats.requests['lgdx.refresh'] ?? 0) > (before.requests['lgdx.refresh'] ?? 0)) {
          holder = (await reports(pages)).findIndex((r) => r.busy);
        }
        if (holder < 0) await sleep(20);
      }
      const refreshesBefore = (await server.stats()).refreshes.total;
      const closedAt = Date.now();
      await pages[holder].close();
      open.splice(open.indexOf(pages[holder]), 1);
      // The next refresh by another tab, after the close.
      let recoveredAt = 0;
      while (recoveredAt === 0) {
        assert.ok(Date.now() - closedAt < lockTimeoutMs, 'no tab recovered within the lock timeout');
        const all = await reports(open);
        const times = all.flatMap((r) => r.log.filter((e) => e.type === 'refreshed' && e.at > closedAt).map((e) => e.at));
        if (times.length > 0) recoveredAt = Math.min(...times);
        else await sleep(20);
      }
      // Past the delayed request's end: had the server rotated for the
      // closed tab, the others' next refresh would be a reuse.
      await sleep(Math.max(0, closedAt + delayMs + 1_000 - Date.now()));
      const stats = await server.stats();
      const all = await reports(open);
      const closedRequest = stats.log.filter((l) => l.endpoint === 'lgdx.refresh' && l.fault === 'delay');
      t.diagnostic(
        `recovered ${recoveredAt - closedAt} ms after the close (lock timeout ${lockTimeoutMs} ms); ` +
          `refreshes ${refreshesBefore} → ${stats.refreshes.total}, reuse detections ${stats.reuse_detections.total}, ` +
          `expired-token calls ${stats.expired_token_calls}; the delayed request ` +
          `${closedRequest.length === 0 ? 'was cancelled with the closed tab' : JSON.stringify(closedRequest)}`,
      );
      assert.ok(recoveredAt - closedAt < lockTimeoutMs);
      // The closed tab's connection went away during the delay: the server
      // dropped the request unhandled (it never reached the log, nor
      // rotated), so the old refresh token was still the live one and the
      // next tab's refresh used it.
      assert.equal(stats.faults_applied.delay, 1);
      assert.deepEqual(closedRequest, []);
      assert.equal(stats.reuse_detections.total, 0);
      assert.equal(stats.refresh_rejections.total, 0);
      assert.equal(stats.expired_token_calls, 0);
      for (const r of all) {
        assert.equal(r.status, 'active');
        assert.equal(r.log.filter((e) => e.type === 'sessionended').length, 0);
        assert.deepEqual(r.apiErrors, []);
      }
      const after = await server.stats();
      await sleep(1_500);
      assert.ok((await server.stats()).refreshes.total > after.refreshes.total, 'still refreshing');
    } finally {
      await closeAll(open);
    }
  });
}

for (const storage of ['local', 'adapter']) {
  test(`logout in one tab logs out all (${storage === 'local' ? 'storage event' : 'BroadcastChannel'}) within a second`, async (t) => {
    await server.reset();
    const pages = await openTabs(5, { key: `logout-${storage}`, storage });
    let at = 0;
    try {
      await loggedIn(pages);
      for (const p of pages) await p.evaluate(() => window.tabs.startApi(50));
      await sleep(1_000);
      at = await pages[0].evaluate(() => window.tabs.logout());
      for (const p of pages.slice(1)) {
        await p.waitForFunction(() => window.tabs.report().status !== 'active', null, { timeout: 1_000 });
      }
      const all = await reports(pages);
      const lags = all.slice(1).map((r) => r.log.find((e) => e.type === 'sessionended').at - at);
      t.diagnostic(`logout reached the other 4 tabs after ${lags.join(', ')} ms`);
      assert.equal(all[0].status, 'loggedOut');
      for (const r of all.slice(1)) {
        assert.equal(r.status, 'ended');
        assert.deepEqual(
          r.log.filter((e) => e.type === 'sessionended').map((e) => e.reason),
          ['cleared_elsewhere'],
        );
      }
      assert.ok(Math.max(...lags) < 1_000);
      const stats = await server.stats();
      await sleep(2_500);
      const later = await server.stats();
      assert.equal(later.refreshes.total, stats.refreshes.total, 'no refresh after the logout');
      assert.equal(later.reuse_detections.total, 0);
      assert.equal(later.expired_token_calls, 0);
      for (const p of pages) assert.deepEqual(p.errors, []);
    } catch (e) {
      await explain(t, pages, at);
      throw e;
    } finally {
      await closeAll(pages);
    }
  });
}
