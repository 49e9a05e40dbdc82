// keeper.fetch at resource servers, over loopback: which origins get the
// token and the profile's apiHeaders, and which answers mean the token was
// not accepted (rejectStatuses, RFC 6750 §3.1 challenges, isRejected).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startDevserver, loadPackage, profiles, seed } from './support/devserver.mjs';

const { TokenKeeper } = await loadPackage();

/** A loopback server that records requests and answers with `handler`. */
async function server(handler) {
  const seen = [];
  const s = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${s.address().port}`, seen, close: () => new Promise((r) => s.close(r)) };
}

let devserver;
/** Records everything and answers 200: the origin no token may reach. */
let foreign;
/** A JSON login/refresh API handing out AT-1, AT-2, …; `idp.reissue` makes a refresh return the same access token. */
let idp;
/** A resource server whose answer to a token the test chooses (`api.answer`). */
let api;

before(async () => {
  devserver = await startDevserver();
  foreign = await server((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  idp = await server((req, res, body) => {
    const same = req.url === '/refresh' && idp.reissue;
    if (!same) idp.issued += 1;
    const access = same ? JSON.parse(body).refreshToken.replace('RT', 'AT') : `AT-${idp.issued}`;
    res.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ accessToken: access, refreshToken: access.replace('AT', 'RT'), expiresIn: 300 }));
  });
  api = await server((req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const [status, headers = {}, body = ''] = api.answer(token, res);
    if (status === 'hold') return; // answered by the test
    res.writeHead(status, headers).end(body);
  });
});

after(async () => {
  await Promise.all([devserver.stop(), foreign.close(), idp.close(), api.close()]);
});

const ok = [200, { 'content-type': 'application/json' }, '{"ok":true}'];

/** A keeper on the local IdP, allowed to call `api`, which answers 200 until told otherwise. */
function local({ profile, ...extra } = {}) {
  idp.reissue = false;
  idp.issued = 0;
  idp.seen.length = 0;
  api.seen.length = 0;
  api.answer = () => ok;
  return new TokenKeeper({
    profile: { kind: 'json', loginUrl: `${idp.url}/login`, refreshUrl: `${idp.url}/refresh`, ...profile },
    allowedOrigins: [api.url],
    ...extra,
  });
}

const refreshes = () => idp.seen.filter((r) => r.url === '/refresh').length;
const tokensSeen = () => api.seen.map((r) => r.headers.authorization);

test('LGDX: keeper.fetch sends apiHeaders (X-API-Key) with the token to the API', async () => {
  await devserver.reset();
  const lgdx = profiles(devserver.url).lgdx;
  const k = new TokenKeeper({ profile: { ...lgdx, apiHeaders: { 'X-API-Key': seed.apiKey } } });
  await k.login(seed.user);
  const res = await k.fetch(`${devserver.url}/Navigation/Realms`);
  assert.equal(res.status, 200);
  assert.equal((await res.json())[0].name, 'Demo Realm');
  // The control: the login headers alone do not reach the API, which
  // refuses a good token without the key.
  const bare = new TokenKeeper({ profile: lgdx });
  await bare.login(seed.user);
  const refused = await bare.fetch(`${devserver.url}/Navigation/Realms`);
  assert.equal(refused.status, 403);
  const stats = await devserver.stats();
  assert.equal(stats.requests['lgdx.realms'], 2);
  assert.equal(stats.protected_calls.ok, 1);
  assert.equal(stats.protected_calls.bad_api_key, 1);
  assert.equal(stats.refreshes.total, 0, 'a 403 is not a rejection by default');
  k.close();
  bare.close();
});

test('LGDX: neither the token nor the API key goes to another origin', async () => {
  const lgdx = profiles(devserver.url).lgdx;
  const k = new TokenKeeper({ profile: { ...lgdx, apiHeaders: { 'X-API-Key': seed.apiKey } } });
  await k.login(seed.user);
  const token = await k.accessToken();
  for (const url of [`${foreign.url}/Navigation/Realms`, `${foreign.url.replace('127.0.0.1', 'localhost')}/x`]) {
    await assert.rejects(k.fetch(url, { method: 'POST', body: 'x' }), (e) => {
      assert.equal(e.name, 'TokenKeeperError');
      assert.equal(e.code, 'AUTH_ORIGIN_NOT_ALLOWED');
      assert.equal(e.message, `"${new URL(url).origin}" is not an allowed origin for the access token`);
      for (const s of [seed.apiKey, token]) assert.ok(!JSON.stringify([e.message, e.stack, { ...e }]).includes(s));
      return true;
    });
  }
  assert.equal(foreign.seen.length, 0, 'the foreign server saw nothing');
  // Listed explicitly, the origin gets both.
  const listed = new TokenKeeper({
    profile: { ...lgdx, apiHeaders: { 'X-API-Key': seed.apiKey } },
    allowedOrigins: [`${foreign.url.replace('http:', 'HTTP:')}/`],
  });
  await listed.login(seed.user);
  assert.equal((await listed.fetch(`${foreign.url}/x`)).status, 200);
  assert.equal(foreign.seen.length, 1);
  assert.equal(foreign.seen[0].headers['x-api-key'], seed.apiKey);
  assert.match(foreign.seen[0].headers.authorization, /^Bearer ./);
  foreign.seen.length = 0;
  await assert.rejects(listed.fetch(`${devserver.url}/Navigation/Realms`), (e) => e.code === 'AUTH_ORIGIN_NOT_ALLOWED');
  k.close();
  listed.close();
});

/** An LGDX keeper with the API key on every call. */
function lgdxKeeper(extra = {}) {
  const lgdx = profiles(devserver.url).lgdx;
  return new TokenKeeper({ profile: { ...lgdx, apiHeaders: { 'X-API-Key': seed.apiKey } }, ...extra });
}

/**
 * Logs in, then moves the devserver clock past the access token's expiry
 * (30 s) but not the refresh token's (300 s): the API refuses the token the
 * keeper still holds as valid, with a bare 403 (`api_reject_status`).
 */
async function expiredOnServer(k) {
  await devserver.reset();
  await devserver.config({ api_reject_status: 403, clock_offset: 0 });
  await k.login(seed.user);
  await devserver.config({ clock_offset: 60 });
}

test('LGDX, bare 403 for an expired token: with rejectStatuses [401, 403] one renewal, one retry, success', async () => {
  const k = lgdxKeeper({ rejectStatuses: [401, 403] });
  try {
    await expiredOnServer(k);
    const before = await k.accessToken();
    const res = await k.fetch(`${devserver.url}/Navigation/Realms`);
    assert.equal(res.status, 200);
    assert.notEqual(await k.accessToken(), before);
    const stats = await devserver.stats();
    assert.equal(stats.refreshes.lgdx, 1);
    assert.equal(stats.requests['lgdx.realms'], 2);
    assert.equal(stats.protected_calls.ok, 1);
  } finally {
    await devserver.config({ api_reject_status: 401, clock_offset: 0 });
    k.close();
  }
});

test('LGDX, bare 403 for an expired token: by default returned as it is, no renewal', async () => {
  const k = lgdxKeeper();
  try {
    await expiredOnServer(k);
    const res = await k.fetch(`${devserver.url}/Navigation/Realms`);
    assert.equal(res.status, 403);
    const stats = await devserver.stats();
    assert.equal(stats.refreshes.total, 0);
    assert.equal(stats.requests['lgdx.realms'], 1);
  } finally {
    await devserver.config({ api_reject_status: 401, clock_offset: 0 });
    k.close();
  }
});

test('apiHeaders and the token replace the caller\'s own headers of those names; login headers stay on login', async () => {
  const k = local({ profile: { headers: { 'X-Login-Key': 'LOGIN-1' }, apiHeaders: { 'X-API-Key': 'API-1' } } });
  await k.login({ username: 'u', password: 'p' });
  const res = await k.fetch(`${api.url}/data`, {
    headers: { 'x-api-key': 'CALLER', Authorization: 'Basic Y2FsbGVy', 'X-Other': 'kept' },
  });
  assert.equal(res.status, 200);
  const sent = api.seen[0].headers;
  assert.equal(sent['x-api-key'], 'API-1');
  assert.equal(sent.authorization, 'Bearer AT-1');
  assert.equal(sent['x-other'], 'kept');
  assert.equal(sent['x-login-key'], undefined, 'login headers are not API headers');
  const login = idp.seen.find((r) => r.url === '/login');
  assert.equal(login.headers['x-login-key'], 'LOGIN-1');
  assert.equal(login.headers['x-api-key'], undefined, 'API headers are not login headers');
  k.close();
});

test('403 with rejectStatuses [401, 403]: one renewal, one retry with the body replayed, success', async () => {
  const k = local({ rejectStatuses: [401, 403] });
  await k.login({ username: 'u', password: 'p' });
  api.answer = (token) => (token === 'AT-1' ? [403, {}, 'revoked'] : ok);
  const res = await k.fetch(`${api.url}/orders`, { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 200);
  assert.deepEqual(tokensSeen(), ['Bearer AT-1', 'Bearer AT-2']);
  assert.deepEqual(api.seen.map((r) => r.body), ['{"n":1}', '{"n":1}']);
  assert.equal(refreshes(), 1);
  assert.equal(await k.accessToken(), 'AT-2');
  k.close();
});

test('403 by default (rejectStatuses [401]): returned as it is, no renewal', async () => {
  const k = local();
  await k.login({ username: 'u', password: 'p' });
  api.answer = () => [403, {}, 'forbidden'];
  const res = await k.fetch(`${api.url}/orders`);
  assert.equal(res.status, 403);
  assert.equal(await res.text(), 'forbidden');
  assert.equal(api.seen.length, 1);
  assert.equal(refreshes(), 0);
  assert.equal(await k.accessToken(), 'AT-1');
  k.close();
});

test('403 insufficient_scope is not a rejection even when 403 is listed', async () => {
  const k = local({ rejectStatuses: [401, 403] });
  await k.login({ username: 'u', password: 'p' });
  api.answer = () => [403, { 'www-authenticate': 'Bearer realm="api", error="insufficient_scope", scope="write"' }];
  const res = await k.fetch(`${api.url}/orders`, { method: 'DELETE' });
  assert.equal(res.status, 403);
  assert.equal(api.seen.length, 1);
  assert.equal(refreshes(), 0);
  k.close();
});

test('401 invalid_token is a rejection even when only 403 is listed; a bare 401 then is not', async () => {
  const k = local({ rejectStatuses: [403] });
  await k.login({ username: 'u', password: 'p' });
  api.answer = (token) => (token === 'AT-1' ? [401, { 'www-authenticate': 'Bearer error="invalid_token"' }] : ok);
  assert.equal((await k.fetch(`${api.url}/a`)).status, 200);
  assert.deepEqual(tokensSeen(), ['Bearer AT-1', 'Bearer AT-2']);
  api.answer = () => [401, { 'www-authenticate': 'Bearer realm="api"' }];
  assert.equal((await k.fetch(`${api.url}/b`)).status, 401);
  assert.equal(api.seen.length, 3);
  assert.equal(refreshes(), 1);
  k.close();
});

test('isRejected replaces the status rule, and may be async', async () => {
  const seen = [];
  const k = local({
    isRejected: async (res) => {
      seen.push(res.status);
      return res.status === 409 && (await res.clone().json()).code === 'TOKEN_STALE';
    },
  });
  await k.login({ username: 'u', password: 'p' });
  api.answer = (token) => (token === 'AT-1' ? [409, { 'content-type': 'application/json' }, '{"code":"TOKEN_STALE"}'] : ok);
  assert.equal((await k.fetch(`${api.url}/a`)).status, 200);
  assert.deepEqual(tokensSeen(), ['Bearer AT-1', 'Bearer AT-2']);
  // A 401 the predicate does not call a rejection is returned as it is.
  api.answer = () => [401, { 'www-authenticate': 'Bearer error="invalid_token"' }];
  assert.equal((await k.fetch(`${api.url}/b`)).status, 401);
  assert.equal(api.seen.length, 3);
  assert.equal(refreshes(), 1);
  assert.deepEqual(seen, [409, 401], 'a retry\'s answer is the caller\'s, not asked about');
  k.close();
});

test('10 concurrent rejections of one token: one renewal, each call retried once', { timeout: 30_000 }, async () => {
  const k = local({ rejectStatuses: [403] });
  await k.login({ username: 'u', password: 'p' });
  // Hold the first answers until all requests arrived, then reject them all.
  const held = [];
  api.answer = (token, res) => {
    if (token !== 'AT-1') return ok;
    held.push(res);
    return ['hold'];
  };
  const calls = Array.from({ length: 10 }, (_, i) => k.fetch(`${api.url}/${i}`));
  while (held.length < 10) await new Promise((r) => setTimeout(r, 5));
  for (const res of held) res.writeHead(403).end();
  const results = await Promise.all(calls);
  assert.deepEqual(results.map((r) => r.status), Array(10).fill(200));
  assert.equal(refreshes(), 1, 'one renewal for all');
  const seen = tokensSeen();
  assert.equal(seen.length, 20, 'each call sent twice');
  assert.equal(seen.filter((t) => t === 'Bearer AT-2').length, 10);
  k.close();
});

test('no retry when the renewal brings back the same token', async () => {
  const k = local({ rejectStatuses: [403] });
  await k.login({ username: 'u', password: 'p' });
  idp.reissue = true;
  api.answer = () => [403, {}, 'no'];
  const res = await k.fetch(`${api.url}/a`);
  assert.equal(res.status, 403);
  assert.equal(refreshes(), 1);
  assert.deepEqual(tokensSeen(), ['Bearer AT-1']);
  k.close();
});

test('the options are checked by the core and name the field, never a value', () => {
  const profile = { kind: 'json', loginUrl: `${idp.url}/login`, refreshUrl: `${idp.url}/refresh` };
  const cases = [
    [{ allowedOrigins: ['https://api.example/v1'] }, 'allowedOrigins'],
    [{ allowedOrigins: ['https://SECRET-1@api.example'] }, 'allowedOrigins'],
    [{ allowedOrigins: ['https://api.example?k=SECRET-1'] }, 'allowedOrigins'],
    [{ allowedOrigins: ['http://api.example'] }, 'allowedOrigins'],
    [{ allowedOrigins: 'https://api.example' }, 'allowedOrigins'],
    [{ profile: { ...profile, apiHeaders: { Authorization: 'Bearer SECRET-1' } } }, 'apiHeaders'],
    [{ profile: { ...profile, apiHeaders: { 'X-API-Key': 'SECRET-1\r\nX: 1' } } }, 'apiHeaders'],
    [{ profile: { ...profile, apiHeaders: { 'X-API-Key': 42 } } }, 'apiHeaders'],
    [{ rejectStatuses: [200] }, 'rejectStatuses'],
    [{ rejectStatuses: 403 }, 'rejectStatuses'],
    [{ isRejected: 'SECRET-1' }, 'isRejected'],
  ];
  for (const [options, field] of cases) {
    assert.throws(() => new TokenKeeper({ profile, ...options }), (e) => {
      assert.equal(e.code, 'AUTH_CONFIG', JSON.stringify(options));
      assert.ok(e.message.startsWith(`"${field}" `), e.message);
      assert.ok(!e.message.includes('SECRET-1'), e.message);
      return true;
    });
  }
  // An oauth2 profile takes apiHeaders too.
  const k = new TokenKeeper({
    profile: { kind: 'oauth2', tokenUrl: `${idp.url}/token`, clientId: 'c', apiHeaders: { 'X-API-Key': 'k' } },
  });
  k.close();
});
