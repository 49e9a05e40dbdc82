// The device authorization grant (RFC 8628), token exchange (RFC 8693) and
// pushed authorization requests (RFC 9126) against the devserver's
// Keycloak realm (devserver/README.md §6–§8), through the built package.
// The devserver polices what a client does: it answers `slow_down` to a
// poll that comes sooner than the interval (with the interval grown by 5 s
// from then on), so a keeper that polled too often would be seen; its
// stats count polls by answer, exchanges and pushed requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDevserver, loadPackage, seed } from './support/devserver.mjs';

const { TokenKeeper } = await loadPackage();

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const REFRESH_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token';
const CALLBACK = 'http://127.0.0.1:5173/callback';
const confidential = { id: 'tokenkeeper-confidential', secret: 'confidential-secret' };

let server;
let base;

before(async () => {
  server = await startDevserver(['--device-poll-interval', '1', '--device-code-ttl', '60']);
  base = server.url;
});

after(() => server.stop());

const issuer = () => `${base}/realms/tokenkeeper`;
const tokenUrl = () => `${issuer()}/protocol/openid-connect/token`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A clean devserver for each test: stats, sessions and settings. */
async function fresh() {
  assert.equal((await admin('POST', 'reset', { sessions: true })).status, 200);
  await server.config({ require_par: false, device_poll_interval: 1, device_code_ttl: 60, clock_offset: 0 });
}

/**
 * A `fetch` for the keeper that records every request and its answer
 * (`log`: method, url, form body, status, JSON answer, `sentAt`,
 * `answeredAt`).
 */
function wire() {
  const log = [];
  const fetchFn = async (input, init) => {
    const req = new Request(input, init);
    const entry = { method: req.method, url: req.url, headers: new Headers(req.headers), sentAt: Date.now() };
    entry.form = req.method === 'POST' ? new URLSearchParams(await req.clone().text()) : null;
    log.push(entry);
    const res = await fetch(req);
    entry.status = res.status;
    entry.answer = await res.clone().json().catch(() => null);
    entry.answeredAt = Date.now();
    return res;
  };
  return { log, fetch: fetchFn };
}

/** Waits until `check()` is truthy (it may be async), polling every 20 ms. */
async function until(check, what, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`${what} within ${ms} ms`);
    await sleep(20);
  }
}

/** `promise`, or a failure after `ms` (a test never hangs on the keeper). */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function admin(method, path, body) {
  const res = await fetch(`${base}/admin/${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** The device client's keeper (public client), its requests recorded. */
async function deviceKeeper(t) {
  const recorder = wire();
  const keeper = await TokenKeeper.discover({
    profile: { kind: 'oauth2', issuer: issuer(), clientId: seed.kcClient, scope: 'openid profile' },
    fetch: recorder.fetch,
  });
  t.after(() => keeper.close());
  const polls = () => recorder.log.filter((e) => e.url === tokenUrl() && e.form?.get('grant_type') === DEVICE_GRANT);
  return { keeper, recorder, polls };
}

/**
 * The verification page as its user: GET `url` (the code filled in from
 * `verification_uri_complete`), then POST the form with the demo user's
 * credentials and `action`. Resolves to the answer page's text.
 */
async function verificationPage(url, action, { username = seed.user.username, password = seed.user.password } = {}) {
  const page = await fetch(url);
  assert.equal(page.status, 200);
  const html = await page.text();
  const formAction = html.match(/<form method="post" action="([^"]+)"/)?.[1];
  const userCode = html.match(/<input name="user_code" value="([^"]*)"/)?.[1];
  assert.ok(formAction && userCode, 'the verification form, with the code filled in');
  assert.match(html, /value="approve"/);
  assert.match(html, /value="deny"/);
  const res = await fetch(new URL(formAction, url), {
    method: 'POST',
    body: new URLSearchParams({ user_code: userCode, username, password, action }),
  });
  assert.equal(res.status, 200);
  return res.text();
}

// ---- The device authorization grant (RFC 8628) ----------------------------

test('device flow: codes and devicecode event, the user approves on the verification page while the keeper polls at the interval (no slow_down), claims and userinfo', async (t) => {
  await fresh();
  const { keeper, recorder, polls } = await deviceKeeper(t);
  const shown = [];
  keeper.addEventListener('devicecode', (e) => shown.push(e.detail));
  const before = Date.now();
  const { userCode, verificationUri, verificationUriComplete, expiresAt, interval, complete } = await keeper.startDeviceLogin();

  const [asked, ...again] = recorder.log.filter((e) => e.url === `${issuer()}/protocol/openid-connect/auth/device`);
  assert.ok(asked, 'discovery gave the device authorization endpoint');
  assert.equal(again.length, 0);
  assert.equal(asked.form.get('client_id'), seed.kcClient);
  assert.equal(asked.form.get('scope'), 'openid profile');
  assert.match(userCode, /^[A-Z]{4}-[A-Z]{4}$/);
  assert.equal(verificationUri, `${issuer()}/device`);
  assert.equal(verificationUriComplete, `${issuer()}/device?user_code=${userCode}`);
  assert.equal(interval, 1000);
  assert.ok(expiresAt >= before + 59_000 && expiresAt <= Date.now() + 60_000, 'expires_in 60 s');
  assert.deepEqual(shown, [{ userCode, verificationUri, verificationUriComplete, expiresAt, interval }]);

  // Let the keeper poll a few times before the user answers.
  await until(() => polls().filter((p) => p.answer?.error === 'authorization_pending').length >= 2, 'two pending polls');
  assert.match(await verificationPage(verificationUriComplete, 'approve'), /Device Login Successful/);
  await within(complete, 10_000, 'complete');

  assert.equal(keeper.state.status, 'active');
  const claims = keeper.state.claims;
  assert.equal(claims.preferred_username, 'demo');
  assert.equal(claims.azp, seed.kcClient);
  assert.equal(claims.iss, issuer());
  assert.ok(polls().every((p) => p.form.get('device_code') === asked.answer.device_code));
  const me = await keeper.fetch(`${issuer()}/protocol/openid-connect/userinfo`);
  assert.equal(me.status, 200);
  assert.equal((await me.json()).preferred_username, 'demo');

  const stats = await server.stats();
  assert.equal(stats.device.authorizations, 1);
  assert.equal(stats.device.approved, 1);
  assert.equal(stats.device.polls.issued, 1);
  assert.equal(stats.device.polls.slow_down, 0, 'the keeper never polled sooner than the interval');
  assert.equal(stats.device.polls.total, polls().length, 'every poll the keeper sent reached the devserver');
  assert.ok(stats.device.polls.pending >= 2);
});

test('device flow: the user denies on the verification page → complete rejects with access_denied', async (t) => {
  await fresh();
  const { keeper, polls } = await deviceKeeper(t);
  const { verificationUriComplete, complete } = await keeper.startDeviceLogin();
  await until(() => polls().length >= 1, 'a first poll');
  assert.match(await verificationPage(verificationUriComplete, 'deny'), /Consent denied for connecting the device\./);
  await assert.rejects(within(complete, 10_000, 'complete'), (e) => {
    assert.equal(e.name, 'TokenKeeperError');
    assert.equal(e.error, 'access_denied');
    assert.equal(e.error_description, 'The end user denied the authorization request');
    return true;
  });
  assert.equal(keeper.state.status, 'loggedOut');
  const n = polls().length;
  await sleep(1500);
  assert.equal(polls().length, n, 'polling stopped');
  const stats = await server.stats();
  assert.equal(stats.device.denied, 1);
  assert.equal(stats.device.polls.denied, 1);
  assert.equal(stats.device.polls.issued, 0);
});

test('device flow: the signal aborts → complete rejects with its reason; no poll reaches the devserver after it, even once the user approves (admin shortcut)', async (t) => {
  await fresh();
  const { keeper, polls } = await deviceKeeper(t);
  const controller = new AbortController();
  const { userCode, complete } = await keeper.startDeviceLogin({ signal: controller.signal });
  await until(() => polls().some((p) => p.answeredAt !== undefined), 'a first answered poll');
  const reason = new DOMException('stopped by the user', 'AbortError');
  controller.abort(reason);
  await assert.rejects(within(complete, 2000, 'complete'), (e) => e === reason);
  const polled = (await server.stats()).device.polls.total;
  const approved = await admin('POST', 'device', { user_code: userCode, action: 'approve' });
  assert.equal(approved.status, 200);
  await sleep(3000);
  const stats = await server.stats();
  assert.equal(stats.device.polls.total, polled, 'no poll after the abort (3 intervals later)');
  assert.equal(stats.device.polls.issued, 0);
  assert.equal(keeper.state.status, 'loggedOut');
});

test('device flow: the devserver answers slow_down to a poll it sees too soon, and the keeper waits 5 s longer from then on', async (t) => {
  await fresh();
  const { keeper, polls } = await deviceKeeper(t);
  const { userCode, complete } = await keeper.startDeviceLogin();
  await until(() => polls()[0]?.answeredAt !== undefined, 'a first answered poll');
  // The server clock goes back 2 s: to the devserver the next poll, 1 s
  // later, comes before the previous one, i.e. too soon.
  await server.config({ clock_offset: -2 });
  await until(() => polls()[1]?.answeredAt !== undefined, 'a second answered poll');
  const [first, second] = polls();
  assert.equal(first.answer.error, 'authorization_pending');
  assert.equal(second.answer.error, 'slow_down', 'the devserver saw the second poll too soon');
  await admin('POST', 'device', { user_code: userCode, action: 'approve' });
  await within(complete, 15_000, 'complete');
  const [, , third, ...more] = polls();
  assert.equal(third.status, 200, 'the third poll got the tokens, no second slow_down');
  assert.equal(more.length, 0);
  const gap1 = second.sentAt - first.answeredAt;
  const gap2 = third.sentAt - second.answeredAt;
  assert.ok(gap1 >= 1000 - 20 && gap1 < 5000, `before slow_down: ${gap1} ms (the 1 s interval)`);
  assert.ok(gap2 >= 6000 - 20 && gap2 < 12_000, `after slow_down: ${gap2} ms (1 s + 5 s)`);
  const stats = await server.stats();
  assert.equal(stats.device.polls.slow_down, 1);
  assert.equal(stats.device.polls.issued, 1);
  assert.equal(keeper.state.status, 'active');
});

test('device flow: codes that expire before the user answers → AUTH_DEVICE_CODE_EXPIRED, no poll past the expiry', async (t) => {
  await fresh();
  await server.config({ device_code_ttl: 2 });
  const { keeper, polls } = await deviceKeeper(t);
  const { expiresAt, complete } = await keeper.startDeviceLogin();
  await assert.rejects(within(complete, 10_000, 'complete'), (e) => {
    assert.equal(e.code, 'AUTH_DEVICE_CODE_EXPIRED');
    return true;
  });
  assert.ok(polls().length >= 1);
  assert.ok(polls().every((p) => p.sentAt < expiresAt), 'every poll before the codes expired');
  assert.equal(keeper.state.status, 'loggedOut');
});

// ---- Token exchange (RFC 8693) ---------------------------------------------

/** A token of the demo user from the public client (its `aud` names the confidential client). */
async function userToken(t, user = seed.user) {
  const keeper = new TokenKeeper({ profile: { kind: 'oauth2', tokenUrl: tokenUrl(), clientId: seed.kcClient, clientAuth: 'none' } });
  t.after(() => keeper.close());
  await keeper.login(user);
  return { token: await keeper.accessToken(), claims: keeper.state.claims };
}

/** The confidential client's keeper, its requests recorded. */
async function exchangeKeeper(t, options = {}) {
  const recorder = wire();
  const keeper = await TokenKeeper.discover({
    profile: { kind: 'oauth2', issuer: issuer(), clientId: confidential.id, clientSecret: confidential.secret, clientAuth: 'basic' },
    fetch: recorder.fetch,
    ...options,
  });
  t.after(() => keeper.close());
  return { keeper, recorder };
}

const jwtClaims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

test('token exchange: exchangeToken gives a token for the same user and session with the audience and an actor; the session untouched', async (t) => {
  await fresh();
  const subject = await userToken(t);
  const actor = await userToken(t, { username: 'alice', password: 'alice-password' });
  const { keeper, recorder } = await exchangeKeeper(t);

  const out = await keeper.exchangeToken({
    subjectToken: subject.token,
    subjectTokenType: ACCESS_TOKEN_TYPE,
    audience: seed.kcClient,
    actorToken: actor.token,
    actorTokenType: ACCESS_TOKEN_TYPE,
  });
  assert.equal(out.issuedTokenType, ACCESS_TOKEN_TYPE);
  assert.equal(typeof out.expiresIn, 'number');
  assert.equal(out.scope, 'profile email');
  const claims = jwtClaims(out.accessToken);
  assert.equal(claims.sub, subject.claims.sub, 'the subject\'s user');
  assert.equal(claims.sid, subject.claims.sid, 'the subject\'s session');
  assert.equal(claims.azp, confidential.id, 'issued to the exchanging client');
  assert.deepEqual([claims.aud].flat(), [seed.kcClient], 'the requested audience');
  assert.deepEqual(claims.act, { sub: actor.claims.sub }, 'the actor (RFC 8693 §4.1)');
  const [sent] = recorder.log.filter((e) => e.url === tokenUrl());
  assert.equal(sent.form.get('grant_type'), EXCHANGE_GRANT);
  assert.equal(sent.form.get('subject_token'), subject.token);
  assert.equal(sent.form.get('actor_token'), actor.token);
  assert.equal(sent.form.get('actor_token_type'), ACCESS_TOKEN_TYPE);
  assert.equal(sent.form.get('audience'), seed.kcClient);
  assert.ok(sent.headers.get('authorization')?.startsWith('Basic '), 'client_secret_basic');
  const me = await fetch(`${issuer()}/protocol/openid-connect/userinfo`, { headers: { authorization: `Bearer ${out.accessToken}` } });
  assert.equal(me.status, 200, 'the devserver accepts the exchanged token');
  assert.equal((await me.json()).preferred_username, 'demo');
  assert.equal(keeper.state.status, 'loggedOut', 'exchangeToken leaves the session alone');
  assert.equal((await server.stats()).token_exchanges.issued, 1);
});

test('token exchange: login keeps the result as the session; with requestedTokenType refresh_token the session refreshes', async (t) => {
  await fresh();
  const subject = await userToken(t);
  const { keeper, recorder } = await exchangeKeeper(t);
  await keeper.login({ subjectToken: subject.token, subjectTokenType: ACCESS_TOKEN_TYPE, audience: seed.kcClient });
  assert.equal(keeper.state.status, 'active');
  assert.equal(keeper.state.claims.sub, subject.claims.sub);
  assert.equal(keeper.state.claims.azp, confidential.id);
  const me = await keeper.fetch(`${issuer()}/protocol/openid-connect/userinfo`);
  assert.equal(me.status, 200);

  // No pause between the login and the refresh asked for right after it.
  const second = await exchangeKeeper(t, { refresh: { minIntervalMs: 0 } });
  await second.keeper.login({ subjectToken: subject.token, subjectTokenType: ACCESS_TOKEN_TYPE, requestedTokenType: REFRESH_TOKEN_TYPE });
  assert.equal(second.keeper.state.status, 'active');
  const [asked] = second.recorder.log.filter((e) => e.url === tokenUrl());
  assert.equal(asked.form.get('requested_token_type'), REFRESH_TOKEN_TYPE);
  assert.equal(asked.answer.issued_token_type, REFRESH_TOKEN_TYPE);
  const before = await second.keeper.accessToken();
  await second.keeper.refresh();
  const after = await second.keeper.accessToken();
  assert.notEqual(after, before, 'a refreshed token');
  const [, refresh] = second.recorder.log.filter((e) => e.url === tokenUrl());
  assert.equal(refresh.form.get('grant_type'), 'refresh_token');
  assert.equal(refresh.form.get('refresh_token'), asked.answer.refresh_token, 'with the exchanged refresh token');
  assert.equal(jwtClaims(after).sub, subject.claims.sub);
  const stats = await server.stats();
  assert.equal(stats.token_exchanges.issued, 2);
  assert.equal(stats.refreshes.kc, 1);
  assert.equal(recorder.log.filter((e) => e.url === tokenUrl()).length, 1);
});

test('token exchange: refusals are typed errors with no token in them (an invalid subject token, the public client)', async (t) => {
  await fresh();
  const subject = await userToken(t);
  const { keeper } = await exchangeKeeper(t);
  const bogus = 'eyJhbGciOiJFUzI1NiJ9.SENTINEL_SUBJECT_TOKEN.x';
  await assert.rejects(keeper.exchangeToken({ subjectToken: bogus, subjectTokenType: ACCESS_TOKEN_TYPE }), (e) => {
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.error_description, 'Invalid token');
    assert.ok(!JSON.stringify({ ...e, message: e.message }).includes('SENTINEL'));
    return true;
  });
  const pub = new TokenKeeper({ profile: { kind: 'oauth2', tokenUrl: tokenUrl(), clientId: seed.kcClient, clientAuth: 'none' } });
  t.after(() => pub.close());
  await assert.rejects(pub.login({ subjectToken: subject.token, subjectTokenType: ACCESS_TOKEN_TYPE }), (e) => {
    assert.equal(e.error, 'invalid_client');
    assert.equal(e.error_description, 'Public client is not allowed to exchange token');
    assert.ok(!JSON.stringify({ ...e, message: e.message }).includes(subject.token));
    return true;
  });
  assert.equal(pub.state.status, 'loggedOut');
  assert.equal(keeper.state.status, 'loggedOut');
  assert.equal((await server.stats()).token_exchanges.issued, 0);
});

// ---- Pushed authorization requests (RFC 9126) ------------------------------

/** Plays the browser at the authorization endpoint: GET the login form,
 * POST it back with the demo user's password, return the redirect. */
async function authorize(url) {
  const page = await fetch(url, { redirect: 'manual' });
  if (page.status === 302 || page.status === 303) return { location: page.headers.get('location'), hidden: null };
  assert.equal(page.status, 200);
  const html = await page.text();
  const action = new URL(html.match(/<form method="post" action="([^"]+)"/)[1], url);
  const form = new URLSearchParams();
  const unescape = (s) =>
    s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    form.set(unescape(name), unescape(value));
  }
  const hidden = [...form.keys()].sort();
  form.set('username', seed.user.username);
  form.set('password', seed.user.password);
  const res = await fetch(action, { method: 'POST', body: form, redirect: 'manual' });
  assert.equal(res.status, 302);
  return { location: res.headers.get('location'), hidden };
}

async function webKeeper(t, profile = {}) {
  const recorder = wire();
  const keeper = await TokenKeeper.discover({
    profile: { kind: 'oauth2', issuer: issuer(), clientId: seed.kcClient, scope: 'openid profile', redirectUri: CALLBACK, ...profile },
    fetch: recorder.fetch,
  });
  t.after(() => keeper.close());
  return { keeper, recorder };
}

const parUrl = () => `${issuer()}/protocol/openid-connect/ext/par/request`;

/** A redirect login that must go through a pushed request. */
async function pushedLogin(keeper, recorder) {
  const url = new URL(await keeper.authorizeUrl());
  assert.equal(url.origin + url.pathname, `${issuer()}/protocol/openid-connect/auth`);
  assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri'], 'only client_id and request_uri');
  assert.match(url.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:[0-9a-f-]{36}$/);
  const pushes = recorder.log.filter((e) => e.url === parUrl());
  assert.equal(pushes.length, 1, 'one push, to the discovered endpoint');
  const [push] = pushes;
  assert.equal(push.status, 201);
  assert.equal(push.answer.request_uri, url.searchParams.get('request_uri'));
  for (const [k, v] of [['response_type', 'code'], ['client_id', seed.kcClient], ['redirect_uri', CALLBACK], ['scope', 'openid profile'], ['code_challenge_method', 'S256']]) {
    assert.equal(push.form.get(k), v, `pushed ${k}`);
  }
  assert.ok(push.form.get('code_challenge') && push.form.get('state') && push.form.get('nonce'));
  const { location, hidden } = await authorize(url.href);
  assert.deepEqual(hidden, ['client_id', 'request_uri'], 'the login page carries only the reference back');
  assert.ok(location.startsWith(`${CALLBACK}?`));
  assert.equal(new URL(location).searchParams.get('state'), push.form.get('state'), 'the pushed state comes back');
  const { idTokenClaims } = await keeper.handleRedirect(location);
  assert.equal(idTokenClaims.preferred_username, 'demo');
  assert.equal(idTokenClaims.nonce, push.form.get('nonce'));
  assert.equal(keeper.state.status, 'active');
  const stats = await server.stats();
  assert.equal(stats.par.pushed, 1);
  assert.equal(stats.par.used, 1);
  assert.equal(stats.par.rejected, 0);
  assert.equal(stats.code_exchanges, 1);
}

test('PAR: with require_par, discover() makes authorizeUrl() push; the login completes; a keeper told not to push is refused', async (t) => {
  await fresh();
  await server.config({ require_par: true });
  const metadata = await (await fetch(`${issuer()}/.well-known/openid-configuration`)).json();
  assert.equal(metadata.require_pushed_authorization_requests, true);
  assert.equal(metadata.pushed_authorization_request_endpoint, parUrl());

  const plain = await webKeeper(t, { requirePushedAuthorizationRequests: false });
  const url = new URL(await plain.keeper.authorizeUrl());
  assert.ok(url.searchParams.has('code_challenge'));
  const { location } = await authorize(url.href);
  await assert.rejects(plain.keeper.handleRedirect(location), (e) => {
    assert.equal(e.error, 'invalid_request');
    assert.equal(e.error_description, 'Pushed Authorization Request is only allowed.');
    return true;
  });
  await server.reset();

  const { keeper, recorder } = await webKeeper(t);
  await pushedLogin(keeper, recorder);
});

test('PAR: requirePushedAuthorizationRequests: true pushes where discovery does not ask for it', async (t) => {
  await fresh();
  const metadata = await (await fetch(`${issuer()}/.well-known/openid-configuration`)).json();
  assert.equal(metadata.require_pushed_authorization_requests, false);
  const { keeper, recorder } = await webKeeper(t, { requirePushedAuthorizationRequests: true });
  await pushedLogin(keeper, recorder);
});
