// The demo page in headless Chromium, one test per seed API style: log in →
// an automatic refresh (6 s lifetimes) → the protected API → a fault and
// the recovery (or, for Keycloak, a revoked session ending cleanly) → logout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useDemo, openDemo, waitEvent, count, chooseStyle, callApi, status, shot, timeline,
} from './support/demo.mjs';

const demo = useDemo(['--access-ttl', '6', '--refresh-ttl', '60', '--tnco-ttl', '6']);

/** A fresh tab, the devserver's stats and fault queue cleared. */
async function fresh() {
  await demo.server.reset();
  return openDemo(demo.browser.context, demo.server);
}

async function login(page, style) {
  await chooseStyle(page, style);
  await page.click('#login');
  await waitEvent(page, 'login');
  assert.equal(await status(page), 'active');
  assert.equal(await page.textContent('#login-error'), '');
}

/** Clicks a fault button; waits for the failed refresh and the recovery after it. */
async function faultAndRecover(page, button) {
  await page.click(button);
  await waitEvent(page, 'fault');
  const failed = await waitEvent(page, 'refreshfailed');
  assert.match(failed, /transient/, 'a transient failure keeps the session');
  assert.equal(await status(page), 'active');
  const refreshed = await count(page, 'refreshed');
  await waitEvent(page, 'refreshed', refreshed + 1);
  assert.equal(await status(page), 'active');
  return failed;
}

/** Nothing the user typed as a secret is in sessionStorage. */
async function assertNoSecretStored(page, ...secrets) {
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
  assert.ok(stored.includes('tokenkeeper.demo.'), 'the session is in sessionStorage');
  for (const s of secrets) assert.ok(!stored.includes(s), `"${s}" is not stored`);
}

async function logout(page) {
  await page.click('#logout');
  await waitEvent(page, 'logout');
  assert.equal(await status(page), 'loggedOut');
  assert.equal(await page.textContent('#token'), '—');
}

test('LGDX: JSON login, rotating refresh, API, 500 on refresh then recovery, reload restores, logout', async (t) => {
  const page = await fresh();
  try {
    await login(page, 'lgdx');
    const masked = await page.textContent('#token');
    assert.match(masked, /^eyJ[\w-]{5}…[\w-]{6}$/, 'only the first and last characters are shown');
    const claims = JSON.parse(await page.textContent('#claims'));
    assert.equal(claims.unique_name ?? claims.name, 'demo');
    assert.match(await page.textContent('#expires-in'), /\d(\.\d)? s$/);
    assert.match(await page.textContent('#refresh-in'), /\d(\.\d)? s$/);

    assert.match(await waitEvent(page, 'refreshed'), /rotated/);
    assert.notEqual(await page.textContent('#token'), masked, 'a new token is shown');
    assert.equal(await callApi(page), '200');
    await shot(page, 'lgdx-active');

    await faultAndRecover(page, '#fault-500');
    await shot(page, 'lgdx-recovered');
    assert.equal(await callApi(page), '200');
    await assertNoSecretStored(page, 'demo-password');

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await waitEvent(page, 'restored');
    assert.equal(await status(page), 'active');
    assert.equal(await page.isChecked('#style-lgdx'), true);
    assert.equal(await callApi(page), '200');

    await logout(page);
    const stats = await demo.server.stats();
    assert.ok(stats.refreshes.lgdx >= 2, `refreshes: ${stats.refreshes.lgdx}`);
    assert.equal(stats.faults_applied.total, 1);
    assert.equal(stats.reuse_detections.total, 0, 'no refresh token was used twice');
    assert.equal(stats.expired_token_calls, 0, 'the API never saw an expired token');
    assert.deepEqual(page.errors, []);
  } catch (e) {
    await shot(page, 'lgdx-failure');
    t.diagnostic(await timeline(page));
    throw e;
  } finally {
    await page.close();
  }
});

test('Keycloak password grant (opt-in): refresh, 429 + Retry-After then recovery, revoke ends the session, logout revokes', async (t) => {
  const page = await fresh();
  try {
    await chooseStyle(page, 'kc-password');
    assert.match(await page.textContent('#style-note'), /allowConfidentialInBrowser: true/);
    await login(page, 'kc-password');
    const claims = JSON.parse(await page.textContent('#claims'));
    assert.equal(claims.preferred_username, 'demo');
    assert.match(await page.textContent('#refresh-expires'), /\d s$/, 'the refresh token expiry is shown');
    await waitEvent(page, 'refreshed');
    assert.equal(await callApi(page), '200');

    const failed = await faultAndRecover(page, '#fault-429');
    assert.match(failed, /retry in 3\.0 s/, 'Retry-After sets the retry delay');
    assert.match(failed, /HTTP 429/);
    assert.equal(await callApi(page), '200');
    await assertNoSecretStored(page, 'demo-password', 'confidential-secret');

    // Revoked at the server: the next refresh is refused and the session ends once.
    await page.click('#fault-revoke');
    await waitEvent(page, 'fault');
    await page.click('#refresh');
    assert.match(await waitEvent(page, 'sessionended'), /invalid_grant/);
    assert.equal(await status(page), 'ended');
    assert.equal(await page.textContent('#token'), '—');
    assert.equal(await page.isDisabled('#call-api'), true);
    assert.equal(await page.isEnabled('#login'), true);
    await shot(page, 'keycloak-ended');
    assert.equal(await count(page, 'sessionended'), 1);

    await page.click('#login');
    await waitEvent(page, 'login', 2);
    assert.equal(await status(page), 'active');
    assert.equal(await callApi(page), '200');
    await logout(page);
    await waitEvent(page, 'revoked');

    const stats = await demo.server.stats();
    assert.equal(stats.logins.kc, 2);
    assert.ok(stats.refreshes.kc >= 2);
    assert.equal(stats.refresh_rejections.total, 1);
    assert.equal(stats.revocations, 1);
    assert.equal(stats.expired_token_calls, 0);
    assert.deepEqual(page.errors, []);
  } catch (e) {
    await shot(page, 'keycloak-failure');
    t.diagnostic(await timeline(page));
    throw e;
  } finally {
    await page.close();
  }
});

test('Identity Manager: client_credentials renewal, API, dropped connection then recovery, logout', async (t) => {
  const page = await fresh();
  try {
    await login(page, 'im');
    assert.equal(await page.textContent('#scope'), 'usercube_api');
    assert.match(await page.textContent('#refresh-expires'), /client credentials/);
    assert.match(await waitEvent(page, 'refreshed'), /client_credentials grant/);
    assert.equal(await callApi(page), '200');
    const failed = await faultAndRecover(page, '#fault-drop');
    assert.match(failed, /AUTH_NETWORK/);
    assert.equal(await callApi(page), '200');
    await assertNoSecretStored(page, 'im-demo-secret');
    await shot(page, 'im-recovered');
    await logout(page);
    const stats = await demo.server.stats();
    assert.ok(stats.client_credentials.im >= 3, `grants: ${stats.client_credentials.im}`);
    assert.equal(stats.protected_calls.ok, 2);
    assert.equal(stats.expired_token_calls, 0);
    assert.deepEqual(page.errors, []);
  } catch (e) {
    await shot(page, 'im-failure');
    t.diagnostic(await timeline(page));
    throw e;
  } finally {
    await page.close();
  }
});

test('TNCO: Basic client_credentials, opaque token, renewal, API, 500 then recovery, logout', async (t) => {
  const page = await fresh();
  try {
    await login(page, 'tnco');
    assert.equal(await page.textContent('#scope'), 'all');
    assert.match(await page.textContent('#claims'), /opaque token/);
    const masked = await page.textContent('#token');
    assert.match(masked, /^[0-9a-f]{8}…[0-9a-f]{6}$/);
    // The renewal 3 s ahead of the 6 s expiry finds the token unexpired: the
    // server hands the same one back, and the page says so.
    const renewed = await waitEvent(page, 'refreshed');
    const [, renewal] = (await demo.server.stats()).log.filter((l) => l.endpoint === 'tnco.token' && l.status === 200);
    assert.equal(renewal?.token, 'reissued');
    assert.match(renewed, /same access token/);
    assert.equal(await page.textContent('#token'), masked);
    assert.equal(await callApi(page), '200');
    const failed = await faultAndRecover(page, '#fault-500');
    assert.match(failed, /HTTP 500/);
    assert.equal(await callApi(page), '200');
    await assertNoSecretStored(page, 'tnco-demo-secret');
    await logout(page);
    const stats = await demo.server.stats();
    assert.ok(stats.client_credentials.tnco >= 3);
    assert.equal(stats.expired_token_calls, 0);
    assert.deepEqual(page.errors, []);
  } catch (e) {
    await shot(page, 'tnco-failure');
    t.diagnostic(await timeline(page));
    throw e;
  } finally {
    await page.close();
  }
});
