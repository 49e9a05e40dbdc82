// keeper.fetch in Chromium: a 401 from the protected API leads to one
// refresh and one retry, which succeeds. Lifetimes are long here so that no
// timer-driven refresh interferes with the counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDemo, openDemo, waitEvent, count, chooseStyle, callApi, shot, timeline } from './support/demo.mjs';

const demo = useDemo(['--access-ttl', '120', '--refresh-ttl', '600', '--tnco-ttl', '120']);

/** The page's refresh policy keeps refreshes at least 2 s apart. */
const pastMinInterval = () => new Promise((r) => setTimeout(r, 2_200));

async function loggedIn(style) {
  await demo.server.reset();
  const page = await openDemo(demo.browser.context, demo.server);
  await chooseStyle(page, style);
  await page.click('#login');
  await waitEvent(page, 'login');
  await pastMinInterval();
  return page;
}

for (const [style, endpoint, refreshes] of [
  ['lgdx', 'lgdx.realms', (s) => s.refreshes.lgdx],
  ['kc-password', 'kc.userinfo', (s) => s.refreshes.kc],
]) {
  test(`${style}: a 401 from the API → one refresh → the retry gets 200`, async (t) => {
    const page = await loggedIn(style);
    try {
      const token = await page.textContent('#token');
      await page.click('#fault-401');
      await waitEvent(page, 'fault');
      assert.equal(await callApi(page), '200');
      await waitEvent(page, 'refreshed');
      assert.equal(await count(page, 'refreshed'), 1);
      assert.notEqual(await page.textContent('#token'), token);
      const stats = await demo.server.stats();
      assert.equal(refreshes(stats), 1, 'exactly one refresh');
      assert.equal(stats.requests[endpoint], 2, 'the request and its one retry');
      assert.equal(stats.faults_applied.total, 1);
      assert.deepEqual(page.errors, []);
    } catch (e) {
      await shot(page, `fetch-retry-${style}-failure`);
      t.diagnostic(await timeline(page));
      throw e;
    } finally {
      await page.close();
    }
  });
}

test('tnco: a revoked client_credentials token → 401 → a new grant → the retry gets 200', async (t) => {
  const page = await loggedIn('tnco');
  try {
    await page.click('#fault-revoke');
    assert.match(await waitEvent(page, 'fault'), /Access token revoked/);
    assert.equal(await callApi(page), '200');
    const stats = await demo.server.stats();
    assert.equal(stats.client_credentials.tnco, 2, 'the login and one renewal');
    assert.equal(stats.requests['tnco.api'], 2);
    assert.equal(stats.protected_calls.invalid, 1);
    assert.equal(stats.protected_calls.ok, 1);
    assert.deepEqual(page.errors, []);
  } catch (e) {
    await shot(page, 'fetch-retry-tnco-failure');
    t.diagnostic(await timeline(page));
    throw e;
  } finally {
    await page.close();
  }
});
