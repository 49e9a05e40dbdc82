// The TokenKeeper class of the built package against the real devserver over
// loopback: each of the four seed API styles, timer-driven refresh,
// rotation, 401 retry, restore, transient and terminal faults, concurrency.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDevserver, loadPackage, memoryAdapter, nextEvent, profiles, seed } from './support/devserver.mjs';

let server;
let TokenKeeper;
let TokenKeeperError;
// Short lifetimes so refreshes happen within the test.
const fast = { leadFraction: 0.5, minLeadMs: 200, maxLeadMs: 1000, maxJitterMs: 0, minIntervalMs: 100,
  backoffBaseMs: 200 };

before(async () => {
  ({ TokenKeeper, TokenKeeperError } = await loadPackage());
  server = await startDevserver(['--access-ttl', '60', '--refresh-ttl', '600', '--kc-rotation', 'on']);
});
after(() => server.stop());

/** Waits past the minimum interval between refreshes (`fast.minIntervalMs`). */
const settle = () => new Promise((r) => setTimeout(r, fast.minIntervalMs + 50));

function keeper(name, extra = {}) {
  return new TokenKeeper({ profile: profiles(server.url)[name], refresh: fast, ...extra });
}

test('LGDX style: JSON login with X-API-Key, protected API, rotating refresh', async () => {
  await server.reset();
  const k = keeper('lgdx');
  await k.login(seed.user);
  assert.equal(k.state.status, 'active');
  assert.equal(typeof k.state.claims.sub, 'string');
  assert.ok(k.state.claims.exp * 1000 >= k.state.expiresAt - 1000);
  const res = await k.fetch(`${server.url}/Navigation/Realms`, { headers: { 'X-API-Key': seed.apiKey } });
  assert.equal(res.status, 200);
  const before = await k.accessToken();
  await settle();
  const refreshed = nextEvent(k, 'refreshed');
  await k.refresh();
  assert.equal((await refreshed).detail.rotated, true);
  assert.notEqual(await k.accessToken(), before);
  const stats = await server.stats();
  assert.equal(stats.refreshes.lgdx, 1);
  assert.equal(stats.reuse_detections.total, 0);
  k.close();
});

test('Keycloak style: password grant, refresh_expires_in, rotation, revocation on logout', async () => {
  await server.reset();
  const k = keeper('keycloak');
  await k.login(seed.user);
  const s = k.state;
  assert.ok(s.refreshExpiresAt > Date.now() + 500_000, 'refresh token expiry from refresh_expires_in');
  assert.ok(s.expiresAt > Date.now() + 50_000 && s.expiresAt <= Date.now() + 61_000);
  await settle();
  await k.refresh();
  await k.refresh().catch((e) => assert.equal(e.code, 'AUTH_RETRY_LATER'));
  const loggedOut = nextEvent(k, 'logout');
  await k.logout();
  await loggedOut;
  assert.equal(k.state.status, 'loggedOut');
  const stats = await server.stats();
  assert.equal(stats.refreshes.kc, 1);
  assert.equal(stats.revocations, 1);
  await assert.rejects(k.accessToken(), (e) => e instanceof TokenKeeperError && e.code === 'AUTH_NO_SESSION');
  k.close();
});

test('Keycloak style: a wrong password is a typed invalid_grant error and no session', async () => {
  const k = keeper('keycloak');
  await assert.rejects(k.login({ username: 'demo', password: 'wrong' }), (e) => {
    assert.equal(e.code, 'OAUTH_RESPONSE_BODY_ERROR');
    assert.equal(e.status, 401);
    assert.equal(e.error, 'invalid_grant');
    assert.ok(!e.message.includes('wrong'));
    return true;
  });
  assert.equal(k.state.status, 'loggedOut');
  k.close();
});

test('Identity Manager style: client_credentials with the secret in the body', async () => {
  await server.reset();
  const k = keeper('identityManager');
  await k.login();
  assert.equal(k.state.scope, 'usercube_api');
  const res = await k.fetch(`${server.url}/im/?api-version=1.0`);
  assert.equal(res.status, 200);
  assert.equal((await server.stats()).client_credentials.im, 1);
  k.close();
});

test('TNCO style: client_credentials with HTTP Basic, expires_in 1199', async () => {
  await server.reset();
  const k = keeper('tnco');
  await k.login();
  const s = k.state;
  assert.equal(s.scope, 'all');
  assert.ok(Math.abs(s.expiresAt - (Date.now() + 1_199_000)) < 5_000);
  assert.match(await k.accessToken(), /^[0-9a-f-]{36}$/);
  const res = await k.fetch(`${server.url}/tnco/api/resources`);
  assert.equal(res.status, 200);
  k.close();
});

test('the timer refreshes ahead of expiry, and the API never sees an expired token', async () => {
  const s = await startDevserver(['--access-ttl', '2', '--refresh-ttl', '60']);
  try {
    const k = new TokenKeeper({ profile: profiles(s.url).lgdx, refresh: fast });
    await k.login(seed.user);
    for (let i = 0; i < 2; i++) await nextEvent(k, 'refreshed', 5_000);
    const res = await k.fetch(`${s.url}/Navigation/Realms`, { headers: { 'X-API-Key': seed.apiKey } });
    assert.equal(res.status, 200);
    const stats = await s.stats();
    assert.ok(stats.refreshes.lgdx >= 2);
    assert.equal(stats.reuse_detections.total, 0);
    assert.equal(stats.expired_token_calls, 0);
    k.close();
  } finally {
    await s.stop();
  }
});

test('a 401 from the API leads to one refresh and one retry with the replayed body', async () => {
  await server.reset();
  const k = keeper('lgdx');
  await k.login(seed.user);
  await settle();
  await server.fault({ match: 'lgdx.realms', kind: 'error', status: 401, times: 1 });
  const res = await k.fetch(`${server.url}/Navigation/Realms`, { headers: { 'X-API-Key': seed.apiKey } });
  assert.equal(res.status, 200);
  const stats = await server.stats();
  assert.equal(stats.refreshes.lgdx, 1);
  assert.equal(stats.requests['lgdx.realms'], 2);
  k.close();
});

test('the retry after a 401 replays the request body', async () => {
  const bodies = [];
  let first = true;
  const fetchThrough = async (input, init) => {
    const req = new Request(input, init);
    if (new URL(req.url).pathname !== '/api/echo') return fetch(req);
    bodies.push([req.headers.get('authorization'), await req.text()]);
    const status = first ? 401 : 200;
    first = false;
    return new Response(null, { status });
  };
  const k = keeper('lgdx', { fetch: fetchThrough });
  await k.login(seed.user);
  await settle();
  const res = await k.fetch(`${server.url}/api/echo`, { method: 'POST', body: 'payload=1' });
  assert.equal(res.status, 200);
  assert.equal(bodies.length, 2);
  assert.deepEqual(bodies.map(([, b]) => b), ['payload=1', 'payload=1']);
  assert.notEqual(bodies[0][0], bodies[1][0], 'the retry carries the new token');
  k.close();
});

test('keeper.fetch refuses origins outside the allow-list', async () => {
  const k = keeper('tnco');
  await k.login();
  await assert.rejects(k.fetch('https://elsewhere.example/api'), (e) => e.code === 'AUTH_ORIGIN_NOT_ALLOWED');
  k.close();
});

test('restore: a second keeper on the same storage adapter adopts the session', async () => {
  const storage = memoryAdapter();
  const { map } = storage;
  const a = keeper('lgdx', { storage });
  await a.login(seed.user);
  const stored = [...map.values()].join();
  assert.ok(!stored.includes('demo-password'), 'the password is never stored');
  const b = keeper('lgdx', { storage });
  assert.equal(await b.restore(), true);
  assert.equal(await b.accessToken(), await a.accessToken());
  a.close();
  b.close();
});

test('restore refuses a session stored under a shared key by a keeper for another endpoint or client, and sends nothing', async () => {
  await server.reset();
  const storage = memoryAdapter();
  const { map } = storage;
  const a = keeper('lgdx', { storage, storageKey: 'shared' });
  await a.login(seed.user);
  const stored = [...map.entries()];
  for (const other of ['tnco', 'identityManager']) {
    const b = keeper(other, { storage, storageKey: 'shared' });
    await assert.rejects(b.restore(), (e) => e instanceof TokenKeeperError && e.code === 'AUTH_STORAGE_FORMAT');
    assert.equal(b.state.status, 'loggedOut');
    await assert.rejects(b.accessToken());
    b.close();
  }
  const stats = await server.stats();
  assert.equal(stats.client_credentials.tnco ?? 0, 0, 'no request to the other endpoint');
  assert.equal(stats.client_credentials.im ?? 0, 0, 'no request to the other endpoint');
  assert.deepEqual([...map.entries()], stored, 'the stored session is untouched');
  assert.equal(await a.accessToken(), await a.accessToken());
  a.close();
});

test('keepers for different endpoints on one store keep apart by default: neither reads, overwrites nor clears the other', async () => {
  await server.reset();
  const storage = memoryAdapter();
  const { map } = storage;
  const lgdx = keeper('lgdx', { storage });
  const tnco = keeper('tnco', { storage });
  await lgdx.login(seed.user);
  await tnco.login();
  assert.equal(map.size, 2, 'one stored session each');
  await tnco.logout();
  assert.equal(map.size, 1, "the other's session is still stored");
  const again = keeper('lgdx', { storage });
  assert.equal(await again.restore(), true);
  assert.equal(await again.accessToken(), await lgdx.accessToken());
  for (const k of [lgdx, tnco, again]) k.close();
});

test('accessToken({ signal }) stops waiting when the signal aborts; the shared refresh goes on', async () => {
  await server.reset();
  let now = Date.now();
  const k = keeper('lgdx', { now: () => now, autoRefresh: false });
  await k.login(seed.user);
  const before = await k.accessToken();
  await assert.rejects(k.accessToken({ signal: AbortSignal.abort() }), { name: 'AbortError' });
  await server.fault({ match: 'lgdx.refresh', kind: 'delay', delay_ms: 1_500 });
  now = k.state.expiresAt + 1;
  const patient = k.accessToken();
  const started = Date.now();
  await assert.rejects(k.accessToken({ signal: AbortSignal.timeout(100) }), { name: 'TimeoutError' });
  assert.ok(Date.now() - started < 1_000, 'the caller stopped waiting before the refresh answered');
  const controller = new AbortController();
  const aborted = k.accessToken({ signal: controller.signal });
  controller.abort(new Error('navigated away'));
  await assert.rejects(aborted, { message: 'navigated away' });
  // The refresh the others gave up on still completes, once, for the caller
  // that waited and for later ones.
  const after = await patient;
  assert.notEqual(after, before);
  assert.equal(await k.accessToken(), after);
  assert.equal((await server.stats()).refreshes.lgdx, 1);
  k.close();
});

test('a throwing storage adapter falls back to memory with an event, never a crash', async () => {
  const failing = {
    get: async () => { throw new Error('QuotaExceededError'); },
    set: async () => { throw new Error('QuotaExceededError'); },
    delete: async () => { throw new Error('QuotaExceededError'); },
  };
  const k = keeper('tnco', { storage: failing });
  const failed = nextEvent(k, 'storageerror');
  await k.login();
  assert.equal((await failed).detail.code, 'AUTH_STORAGE');
  assert.match(await k.accessToken(), /^[0-9a-f-]{36}$/);
  k.close();
});

test('transient faults keep the session; the scheduled retry succeeds', async () => {
  await server.reset();
  const k = keeper('lgdx');
  await k.login(seed.user);
  await settle();
  await server.fault({ match: 'lgdx.refresh', kind: 'error', status: 503, retry_after: '0', times: 1 });
  const failed = nextEvent(k, 'refreshfailed');
  await assert.rejects(k.refresh(), (e) => e.transient === true);
  assert.equal((await failed).detail.transient, true);
  assert.equal(k.state.status, 'active');
  // The backoff after the 503 holds further attempts back for a while.
  await assert.rejects(k.refresh(), (e) => e.code === 'AUTH_RETRY_LATER' && e.transient);
  assert.equal(k.state.status, 'active');
  assert.equal((await server.stats()).requests['lgdx.refresh'], 1);
  // The scheduled retry goes out by itself once the backoff has passed.
  await nextEvent(k, 'refreshed', 5_000);
  const stats = await server.stats();
  assert.equal(stats.refreshes.lgdx, 1);
  assert.equal(stats.reuse_detections.total, 0);
  k.close();
});

test('a terminal fault ends the session exactly once', async () => {
  await server.reset();
  const k = keeper('lgdx');
  let ended = 0;
  k.addEventListener('sessionended', () => ended++);
  await k.login(seed.user);
  await server.revoke({ user: 'demo' });
  await settle();
  await assert.rejects(k.refresh(), (e) => e.code === 'AUTH_SESSION_ENDED');
  await assert.rejects(k.refresh(), (e) => e.code === 'AUTH_SESSION_ENDED');
  await assert.rejects(k.accessToken());
  assert.equal(ended, 1);
  assert.equal(k.state.status, 'ended');
  assert.equal((await server.stats()).refresh_rejections.total, 1);
  k.close();
});

test('100 concurrent accessToken() calls at expiry send exactly one refresh', async () => {
  await server.reset();
  let now = Date.now();
  const k = keeper('lgdx', { now: () => now, autoRefresh: false });
  await k.login(seed.user);
  now = k.state.expiresAt + 1;
  const tokens = await Promise.all(Array.from({ length: 100 }, () => k.accessToken()));
  assert.equal(new Set(tokens).size, 1);
  assert.equal((await server.stats()).refreshes.lgdx, 1);
  k.close();
});
