// The recommended browser path on the demo page: Keycloak authorization
// code + PKCE through the devserver's real login form, in headless Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDemo, openDemo, waitEvent, chooseStyle, callApi, status, shot, timeline } from './support/demo.mjs';

const demo = useDemo(['--access-ttl', '6', '--refresh-ttl', '60']);

test('Keycloak code + PKCE: login form, verified ID token, clean URL, refresh, API, reload restores, logout revokes', async (t) => {
  const page = await openDemo(demo.browser.context, demo.server);
  try {
    await chooseStyle(page, 'kc-pkce');
    assert.equal(await page.textContent('#login'), 'Log in with redirect');
    assert.equal(await page.locator('#fields input[type="password"]').count(), 0, 'no password field on the page');
    await page.click('#login');

    // The identity provider's own login page.
    await page.waitForURL(/\/realms\/tokenkeeper\/protocol\/openid-connect\/auth\?/);
    const sent = new URL(page.url()).searchParams;
    assert.equal(sent.get('code_challenge_method'), 'S256');
    assert.equal(sent.get('redirect_uri'), `${demo.server.url}/demo/`);
    assert.ok(sent.get('state') && sent.get('nonce'));
    await page.fill('input[name="username"]', 'demo');
    await page.fill('input[name="password"]', 'demo-password');
    await shot(page, 'redirect-login-form');
    await page.click('button[type="submit"]');

    // Back on the demo page with ?code=…&state=…, exchanged and verified (the
    // page may already have removed the query from the address bar).
    await page.waitForURL((url) => url.pathname === '/demo/');
    await page.waitForSelector('body[data-ready="true"]');
    assert.match(await waitEvent(page, 'redirect'), /ID token verified \(sub [\w-]+\)/);
    await waitEvent(page, 'login');
    assert.equal(await status(page), 'active');
    assert.equal(new URL(page.url()).search, '', 'code and state are removed from the address bar');
    assert.equal(await page.isChecked('#style-kc-pkce'), true);
    const claims = JSON.parse(await page.textContent('#claims'));
    assert.equal(claims.azp, 'tokenkeeper-demo');
    assert.match(claims.scope, /openid/);

    await waitEvent(page, 'refreshed');
    assert.equal(await callApi(page), '200');
    assert.match(await page.textContent('#api-body'), /"preferred_username": "demo"/);
    await shot(page, 'redirect-active');

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await waitEvent(page, 'restored');
    assert.equal(await callApi(page), '200');

    await page.click('#logout');
    await waitEvent(page, 'logout');
    await waitEvent(page, 'revoked');
    assert.equal(await status(page), 'loggedOut');

    const stats = await demo.server.stats();
    assert.equal(stats.code_exchanges, 1);
    assert.ok(stats.refreshes.kc >= 1);
    assert.equal(stats.revocations, 1);
    assert.equal(stats.expired_token_calls, 0);
    assert.deepEqual(page.errors, []);
  } catch (e) {
    await shot(page, 'redirect-failure');
    t.diagnostic(await timeline(page));
    throw e;
  } finally {
    await page.close();
  }
});

test('Keycloak: an error callback spends the pending login and leaves the address bar; its state with a code later is refused', async (t) => {
  const page = await openDemo(demo.browser.context, demo.server);
  try {
    const before = (await demo.server.stats()).code_exchanges;
    await chooseStyle(page, 'kc-pkce');
    await page.click('#login');
    await page.waitForURL(/\/realms\/tokenkeeper\/protocol\/openid-connect\/auth\?/);
    const authUrl = page.url();
    const state = new URL(authUrl).searchParams.get('state');
    const iss = encodeURIComponent(`${demo.server.url}/realms/tokenkeeper`);
    // The user cancels at the provider, which sends them back with an error.
    await page.goto(`${demo.server.url}/demo/?error=access_denied&state=${state}&iss=${iss}`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.match(await page.textContent('#login-error'), /access_denied/);
    assert.equal(new URL(page.url()).search, '', 'state and error are removed from the address bar');
    // A code for the same state arrives afterwards (the provider's page was
    // still open): the state is spent, nothing is exchanged.
    await page.goto(authUrl);
    await page.fill('input[name="username"]', 'demo');
    await page.fill('input[name="password"]', 'demo-password');
    await page.click('button[type="submit"]');
    await page.waitForURL((url) => url.pathname === '/demo/');
    await page.waitForSelector('body[data-ready="true"]');
    assert.match(await page.textContent('#login-error'), /no authorization request is pending/);
    assert.equal(await status(page), 'loggedOut');
    assert.equal((await demo.server.stats()).code_exchanges, before);
    assert.deepEqual(page.errors, []);
  } catch (e) {
    await shot(page, 'redirect-error-failure');
    t.diagnostic(await timeline(page));
    throw e;
  } finally {
    await page.close();
  }
});
