// The JS boundary: server JSON with `__proto__`/`constructor` keys pollutes
// no prototype, and a thousand concurrent calls on one keeper never hit
// wasm-bindgen's "recursive use of an object" guard. Then keeper.fetch (401
// retry, streamed bodies, concurrency), the fetch transport (cookies,
// redirects, the body cap, timeouts, aborts, broken bodies) and storage at
// the boundary (re-entrant adapters, a throwing localStorage getter), with
// injected fakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPackage } from './support/devserver.mjs';

const { TokenKeeper } = await loadPackage();

const b64url = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims) => `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}.c2ln`;

function keeper(body, extra = {}) {
  return new TokenKeeper({
    profile: { kind: 'oauth2', tokenUrl: 'https://id.example/token', clientId: 'c', clientSecret: 's' },
    fetch: async () => new Response(body(), { headers: { 'content-type': 'application/json' } }),
    autoRefresh: false,
    ...extra,
  });
}

test('__proto__ and constructor keys in a token response and in JWT claims pollute nothing', async () => {
  const claims = '{"sub":"u","exp":4102444800,"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}';
  const token = `${b64url({ alg: 'HS256' })}.${Buffer.from(claims).toString('base64url')}.c2ln`;
  const body = () =>
    `{"access_token":"${token}","token_type":"Bearer","expires_in":300,` +
    '"__proto__":{"polluted":3},"constructor":{"prototype":{"polluted":4}}}';
  const k = keeper(body);
  await k.login();
  const state = k.state;
  assert.equal(state.claims.sub, 'u');
  assert.equal(state.claims.polluted, undefined, 'claims inherit nothing from the payload');
  assert.equal(Object.getPrototypeOf(state.claims), Object.prototype);
  assert.equal(state.polluted, undefined);
  assert.equal({}.polluted, undefined, 'Object.prototype is untouched');
  assert.equal(Object.prototype.polluted, undefined);
  assert.equal({}.constructor, Object, 'constructor stays the real one');
  assert.deepEqual(Object.keys(state.claims).sort(), ['__proto__', 'constructor', 'exp', 'sub'].sort());
  k.close();
});

test('1000 concurrent calls on one keeper: no "recursive use of an object" error', async () => {
  let n = 0;
  const k = keeper(() => JSON.stringify({
    access_token: jwt({ sub: 'u', n: ++n, exp: 4102444800 }),
    token_type: 'Bearer',
    expires_in: 300,
  }), { refresh: { minIntervalMs: 1 } });
  await k.login();
  const errors = [];
  const calls = Array.from({ length: 1000 }, (_, i) => {
    const op = [
      () => k.accessToken(),
      () => Promise.resolve(k.state),
      () => k.refresh(),
      () => k.login(),
      () => k.fetch('https://id.example/api'),
      () => k.logout(),
    ][i % 6];
    return op().catch((e) => errors.push(e));
  });
  await Promise.all(calls);
  const recursive = errors.filter((e) => /recursive use|already borrowed|unreachable/i.test(String(e)));
  assert.deepEqual(recursive, []);
  for (const e of errors) assert.equal(typeof e.code, 'string', `typed error: ${e}`);
  if (k.state.status !== 'active') await k.login();
  assert.equal(k.state.status, 'active');
  assert.match(await k.accessToken(), /^ey/);
  k.close();
});

// ---- keeper.fetch, the transport and storage at the boundary -------------

const API = 'https://id.example/api';

/**
 * A fake fetch for the token endpoint (a new token per answer) and `API`
 * (answered by `api(request, n)`); records every call.
 */
function routes(api) {
  const log = { tokens: 0, token: [], api: [] };
  const fetch = async (input, init) => {
    const req = new Request(input, init);
    if (req.url === API) {
      log.api.push({ url: req.url, auth: req.headers.get('authorization'), body: await req.text() });
      return api(req, log.api.length);
    }
    log.tokens += 1;
    log.token.push(init);
    return new Response(JSON.stringify({ access_token: `AT-${log.tokens}`, token_type: 'Bearer', expires_in: 300 }), {
      headers: { 'content-type': 'application/json' },
    });
  };
  return { fetch, log };
}

test('keeper.fetch: one refresh and one retry after a 401, the second 401 comes back; 403 and 400 refresh nothing', async () => {
  for (const [status, calls, tokens] of [[401, 2, 2], [403, 1, 1], [400, 1, 1]]) {
    const { fetch, log } = routes(() => new Response(null, { status }));
    const k = keeper(() => '', { fetch, refresh: { minIntervalMs: 1 } });
    await k.login();
    await new Promise((r) => setTimeout(r, 5));
    const res = await k.fetch(API, { method: 'POST', body: 'payload=1' });
    assert.equal(res.status, status);
    assert.equal(log.api.length, calls, `${status}: API calls`);
    assert.equal(log.tokens, tokens, `${status}: token requests (login + refreshes)`);
    if (status === 401) {
      assert.deepEqual(log.api.map((c) => c.auth), ['Bearer AT-1', 'Bearer AT-2']);
      assert.deepEqual(log.api.map((c) => c.body), ['payload=1', 'payload=1']);
    }
    for (const c of log.api) assert.ok(!c.url.includes('AT-'), 'the token is never in the URL');
    k.close();
  }
});

test('keeper.fetch: a ReadableStream body is replayed whole on the retry', async () => {
  const { fetch, log } = routes((_, n) => new Response(null, { status: n === 1 ? 401 : 200 }));
  const k = keeper(() => '', { fetch, refresh: { minIntervalMs: 1 } });
  await k.login();
  await new Promise((r) => setTimeout(r, 5));
  const body = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode('chunk-1;'));
      c.enqueue(new TextEncoder().encode('chunk-2'));
      c.close();
    },
  });
  const res = await k.fetch(API, { method: 'POST', body, duplex: 'half' });
  assert.equal(res.status, 200);
  assert.deepEqual(log.api.map((c) => c.body), ['chunk-1;chunk-2', 'chunk-1;chunk-2']);
  k.close();
});

test('keeper.fetch: 100 concurrent calls with an expired token make one refresh and send only the new token', async () => {
  let now = Date.now();
  const { fetch, log } = routes(() => new Response('ok'));
  const k = keeper(() => '', { fetch, now: () => now });
  await k.login();
  now = k.state.expiresAt + 1;
  const res = await Promise.all(Array.from({ length: 100 }, () => k.fetch(API)));
  assert.ok(res.every((r) => r.status === 200));
  assert.equal(log.tokens, 2, 'the login and one refresh');
  assert.ok(log.api.every((c) => c.auth === 'Bearer AT-2'));
  k.close();
});

test('token requests go out without cookies and redirects, and stop reading past 64 KiB', async () => {
  const { fetch, log } = routes(() => new Response('ok'));
  const k = keeper(() => '', { fetch });
  await k.login();
  assert.equal(log.token[0].credentials, 'omit');
  assert.equal(log.token[0].redirect, 'manual');
  k.close();
  // An endless body: the transport stops once it has more than the cap.
  let pulled = 0;
  const endless = () => new Response(new ReadableStream({
    pull(c) {
      pulled += 16_384;
      c.enqueue(new Uint8Array(16_384).fill(97));
    },
  }), { headers: { 'content-type': 'application/json' } });
  const big = keeper(() => '', { fetch: async () => endless() });
  await assert.rejects(big.login(), (e) => e.code === 'OAUTH_INVALID_RESPONSE' && /65536/.test(e.message));
  assert.ok(pulled <= 65_536 + 3 * 16_384, `read ${pulled} bytes`);
  assert.equal(big.state.status, 'loggedOut');
  big.close();
});

test('a request timeout, a caller abort and a body that fails mid-read are distinct typed errors', async () => {
  // Node's AbortSignal.timeout does not keep the event loop alive: a timer does.
  const hang = async (_, init) => new Promise((_, reject) => {
    const alive = setTimeout(() => reject(new Error('the timeout signal never fired')), 5_000);
    init.signal.addEventListener('abort', () => {
      clearTimeout(alive);
      reject(init.signal.reason);
    });
  });
  const abort = async () => { throw new DOMException('aborted', 'AbortError'); };
  const broken = async () => new Response(new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"access_token":"AT-'));
      c.error(new TypeError('connection reset'));
    },
  }), { headers: { 'content-type': 'application/json' } });
  for (const [fetch, code] of [[hang, 'AUTH_TIMEOUT'], [abort, 'AUTH_ABORTED'], [broken, 'AUTH_NETWORK']]) {
    const k = keeper(() => '', { fetch, requestTimeoutMs: 50 });
    const started = Date.now();
    await assert.rejects(k.login(), (e) => e.code === code);
    assert.ok(Date.now() - started < 2_000);
    assert.equal(k.state.status, 'loggedOut');
    k.close();
  }
});

test('a storage adapter that calls back into the keeper: no borrow error, the login completes', async () => {
  const map = new Map();
  const seen = [];
  let k;
  const storage = {
    get: async (key) => map.get(key) ?? null,
    set: async (key, v) => {
      map.set(key, v);
      seen.push(k.state.status);
      seen.push(k.accessToken().then((t) => t, (e) => e.code));
    },
    delete: async (key) => void map.delete(key),
  };
  k = keeper(() => JSON.stringify({ access_token: 'AT-1', token_type: 'Bearer', expires_in: 300 }), { storage });
  await k.login();
  const settled = await Promise.all(seen);
  assert.ok(settled.length >= 2, `${settled}`);
  for (const v of settled) assert.doesNotMatch(String(v), /recursive use|already borrowed|unreachable/i);
  assert.equal(await k.accessToken(), 'AT-1');
  k.close();
});

test('constructing a keeper does no IO: no fetch, no timer, no random bytes', () => {
  const saved = { setTimeout: globalThis.setTimeout, setInterval: globalThis.setInterval, getRandomValues: crypto.getRandomValues };
  const calls = [];
  globalThis.setTimeout = (...a) => (calls.push('setTimeout'), saved.setTimeout(...a));
  globalThis.setInterval = (...a) => (calls.push('setInterval'), saved.setInterval(...a));
  crypto.getRandomValues = (a) => (calls.push('getRandomValues'), saved.getRandomValues.call(crypto, a));
  try {
    const k = keeper(() => '', { fetch: async () => { calls.push('fetch'); throw new Error('no'); }, autoRefresh: true });
    k.close();
  } finally {
    Object.assign(globalThis, { setTimeout: saved.setTimeout, setInterval: saved.setInterval });
    crypto.getRandomValues = saved.getRandomValues;
  }
  assert.deepEqual(calls, []);
});

test('localStorage whose getter throws (SecurityError): the keeper still constructs and works from memory', async () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'localStorage');
  Object.defineProperty(globalThis, 'localStorage', {
    configurable: true,
    get() { throw new DOMException('denied', 'SecurityError'); },
  });
  try {
    const k = keeper(() => JSON.stringify({ access_token: 'AT-1', token_type: 'Bearer', expires_in: 300 }), { storage: 'local' });
    // The failure is found during construction; a listener added right
    // after still hears of it.
    const reported = [];
    k.addEventListener('storageerror', (e) => reported.push(e.detail));
    await k.login();
    assert.deepEqual(reported.map((d) => [d.code, d.storage]), [['AUTH_STORAGE', 'localStorage']]);
    assert.equal(await k.accessToken(), 'AT-1');
    k.close();
  } finally {
    if (saved) Object.defineProperty(globalThis, 'localStorage', saved);
    else delete globalThis.localStorage;
  }
});
