// The JS boundary: server JSON with `__proto__`/`constructor` keys pollutes
// no prototype, and a thousand concurrent calls on one keeper never hit
// wasm-bindgen's "recursive use of an object" guard.
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
    const op = [() => k.accessToken(), () => Promise.resolve(k.state), () => k.refresh(), () => k.login()][i % 4];
    return op().catch((e) => errors.push(e));
  });
  await Promise.all(calls);
  const recursive = errors.filter((e) => /recursive use|already borrowed|unreachable/i.test(String(e)));
  assert.deepEqual(recursive, []);
  for (const e of errors) assert.equal(typeof e.code, 'string', `typed error: ${e}`);
  assert.equal(k.state.status, 'active');
  assert.match(await k.accessToken(), /^ey/);
  k.close();
});
