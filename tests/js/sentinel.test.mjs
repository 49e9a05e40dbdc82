// Secret hygiene in the JS API: every error path runs with sentinel
// secrets (password, client secret, access and refresh token, API key), and no
// sentinel may appear in an error (message, stack, own properties), an
// event, console output, `state`, or a request URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPackage } from './support/devserver.mjs';

const { TokenKeeper } = await loadPackage();

const S = {
  password: 'SENTINEL-PASSWORD-a1',
  secret: 'SENTINEL-CLIENT-SECRET-b2',
  access: 'SENTINEL-ACCESS-TOKEN-c3',
  refresh: 'SENTINEL-REFRESH-TOKEN-d4',
  apiKey: 'SENTINEL-API-KEY-e5',
  code: 'SENTINEL-AUTH-CODE-f6',
  verifier: 'SENTINEL-VERIFIER-g7-0123456789012345678901234567890123',
  nonce: 'SENTINEL-DPOP-NONCE-h8',
};
const sentinels = Object.values(S);
/** Every DPoP proof a keeper sent: checked like the sentinels, and so is its signature. */
const proofs = [];
/** Records the request's DPoP proof and returns it. */
const proofOf = (req) => {
  const proof = req.headers.get('dpop');
  assert.ok(proof, 'a DPoP proof was sent');
  proofs.push(proof, proof.split('.')[2]);
  return proof;
};

/** Everything observable, as text. */
function observer(keeper) {
  const seen = [];
  seen.errors = [];
  for (const type of ['login', 'loginfailed', 'refreshing', 'refreshed', 'refreshfailed', 'sessionended',
    'restored', 'logout', 'revoked', 'revocationfailed', 'storageerror']) {
    keeper.addEventListener(type, (e) => {
      seen.push(`${type} ${dump(e.detail)}`);
      if (e.detail?.error) seen.errors.push(e.detail.error);
    });
  }
  return seen;
}

function dump(value) {
  if (value instanceof Error) {
    return [String(value), value.stack, JSON.stringify(value), JSON.stringify(Object.entries(value))].join('\n');
  }
  if (value && typeof value === 'object') {
    return Object.entries(value).map(([k, v]) => `${k}=${dump(v)}`).join(' ');
  }
  return String(value);
}

/** No sentinel, nor its first 12 characters (a cut-off echo), appears. */
function assertClean(label, text) {
  for (const s of sentinels) assert.ok(!text.includes(s.slice(0, 12)), `${label} leaks ${s}:\n${text}`);
  for (const p of proofs) assert.ok(!text.includes(p), `${label} leaks a DPoP proof:\n${text}`);
}

/** Captures console output while `f` runs. */
async function withConsole(f) {
  const lines = [];
  const saved = {};
  for (const m of ['log', 'info', 'warn', 'error', 'debug']) {
    saved[m] = console[m];
    console[m] = (...args) => lines.push(args.map(dump).join(' '));
  }
  try {
    await f();
  } finally {
    Object.assign(console, saved);
  }
  return lines.join('\n');
}

/** A fetch that answers from a script of responses and records URLs. */
function scripted(responses, urls) {
  return async (input, init) => {
    const req = new Request(input, init);
    urls.push(req.url);
    const next = responses.shift();
    if (!next) throw new Error('unexpected request');
    return typeof next === 'function' ? next(req) : next;
  };
}

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const tokens = (extra = {}) =>
  json(200, { access_token: S.access, refresh_token: S.refresh, token_type: 'Bearer', expires_in: 300, ...extra });
/** An OAuth error echoing the given secrets: a server can echo only what
 * the client sent it or was given by it. */
const echo = (status, ...secrets) => json(status, {
  error: 'invalid_grant',
  error_description: `bad ${secrets.join(' ')}`,
});

const profile = {
  kind: 'oauth2', tokenUrl: 'https://id.example/token', revocationUrl: 'https://id.example/revoke',
  clientId: 'app', clientSecret: S.secret, apiHeaders: { 'X-API-Key': S.apiKey },
};
const fast = { minIntervalMs: 1, backoffBaseMs: 1, maxJitterMs: 0 };

const cases = {
  'login rejected with the secrets echoed in error_description': [[echo(401, S.password, S.secret)], (k) => k.login({ username: 'u', password: S.password })],
  'login answered with HTML quoting the password': [
    [new Response(`<html>${S.password}</html>`, { status: 200, headers: { 'content-type': 'text/html' } })],
    (k) => k.login({ username: 'u', password: S.password })],
  'login answered with broken JSON around the password': [
    [new Response(`{"access_token": "${S.password}`, { status: 200, headers: { 'content-type': 'application/json' } })],
    (k) => k.login({ username: 'u', password: S.password })],
  'token with a header-injection character': [[tokens({ access_token: `${S.access}\r\nX: 1` })], (k) => k.login()],
  'unsupported token_type with sentinel tokens': [[tokens({ token_type: 'mac' })], (k) => k.login()],
  'fetch rejects with the secret in its message': [[() => { throw new TypeError(`failed ${S.secret}`); }], (k) => k.login()],
  'refresh rejected (invalid_grant) echoing the refresh token': [[tokens(), echo(400, S.secret, S.refresh, S.access)], async (k) => {
    await k.login({ username: 'u', password: S.password });
    await new Promise((r) => setTimeout(r, 5));
    await k.refresh();
  }],
  'refresh rejected with the refresh token echoed across the 512-character cut': [[
    tokens(),
    json(400, { error: `${'e'.repeat(120)}${S.refresh}`, error_description: `${'é'.repeat(500)}${S.refresh} and more` }),
  ], async (k) => {
    await k.login({ username: 'u', password: S.password });
    await new Promise((r) => setTimeout(r, 5));
    await k.refresh();
  }],
  'code exchange rejected echoing the code and the verifier': [[echo(400, S.code, S.verifier)],
    (k) => k.login({ code: S.code, codeVerifier: S.verifier, redirectUri: 'https://app.example/cb' })],
  'refresh hits 503 and then 429 with Retry-After': [[tokens(), json(503, { error: S.refresh }), json(429, {}, { 'retry-after': '1' })], async (k) => {
    await k.login({ username: 'u', password: S.password });
    await new Promise((r) => setTimeout(r, 5));
    await k.refresh().catch(() => {});
    await new Promise((r) => setTimeout(r, 20));
    await k.refresh();
  }],
  'revocation fails on logout': [[tokens(), json(503, { error: S.refresh, error_description: `${S.access} ${S.secret}` })], async (k) => {
    await k.login({ username: 'u', password: S.password });
    await k.logout();
  }],
  'keeper.fetch to a disallowed origin with the token in the path': [[tokens()], async (k) => {
    await k.login({ username: 'u', password: S.password });
    await k.fetch(`https://elsewhere.example/${S.access}`);
  }],
  'keeper.fetch: the API echoes its key in a rejection, the renewal is refused': [[
    tokens(),
    (req) => {
      // The key went with the token to the allowed origin, nowhere else.
      assert.equal(req.headers.get('x-api-key'), S.apiKey);
      return json(401, { error: S.apiKey }, {
        'www-authenticate': `Bearer error="invalid_token", error_description="${S.apiKey}"`,
      });
    },
    // The refresh request never carries the API key, so only what it sent is echoed.
    echo(400, S.secret, S.refresh, S.access),
  ], async (k) => {
    await k.login({ username: 'u', password: S.password });
    await new Promise((r) => setTimeout(r, 5));
    const res = await k.fetch('https://id.example/api', { method: 'POST', body: S.apiKey });
    assert.equal(res.status, 401);
  }],
  'DPoP: the token endpoint asks for a nonce twice, echoing the proof and the nonce': [[
    (req) => json(400, { error: 'use_dpop_nonce', error_description: `${proofOf(req)} ${S.nonce}` }, { 'dpop-nonce': S.nonce }),
    (req) => json(400, { error: 'use_dpop_nonce', error_description: `${proofOf(req)} ${S.nonce}` }, { 'dpop-nonce': `${S.nonce}-2` }),
  ], (k) => k.login(), { dpop: true }],
  'DPoP: the API echoes the proof and the nonce in its challenge, the renewal is refused': [[
    tokens({ token_type: 'DPoP' }),
    (req) => json(401, {}, {
      'www-authenticate': `DPoP error="invalid_token", error_description="${proofOf(req)} ${S.nonce}"`,
      'dpop-nonce': S.nonce,
    }),
    (req) => json(400, { error: 'invalid_grant', error_description: `${proofOf(req)} ${S.nonce} ${S.refresh}` }),
  ], async (k) => {
    await k.login({ username: 'u', password: S.password });
    await new Promise((r) => setTimeout(r, 5));
    const res = await k.fetch('https://id.example/api');
    assert.equal(res.status, 401);
  }, { dpop: true }],
};

for (const [name, [responses, run, options]] of Object.entries(cases)) {
  test(`no sentinel leaks: ${name}`, async () => {
    const urls = [];
    let error = null;
    let keeper;
    const consoleText = await withConsole(async () => {
      keeper = new TokenKeeper({ profile, refresh: fast, autoRefresh: false, fetch: scripted([...responses], urls), ...options });
      const seen = observer(keeper);
      try {
        await run(keeper);
      } catch (e) {
        error = e;
      }
      // A path that does not throw (logout) reports its error as an event.
      error ??= seen.errors.at(-1) ?? null;
      assertClean('events', seen.join('\n'));
    });
    assert.ok(error, 'the path ends in an error');
    assert.equal(typeof error.code, 'string');
    assertClean('error', dump(error));
    assertClean('console', consoleText);
    assertClean('state', JSON.stringify(keeper.state));
    assertClean('urls', urls.join('\n'));
    keeper.close();
  });
}

test('no sentinel leaks: invalid options carrying secrets in the wrong fields', () => {
  for (const options of [
    { profile: { ...profile, scope: 42, clientSecret: S.secret } },
    { profile: { ...profile, clientAuth: S.secret } },
    { profile: { kind: 'oauth2', tokenUrl: S.secret, clientId: 'c' } },
    { profile, storage: S.secret },
    { profile: { ...profile, apiHeaders: { Authorization: S.apiKey } } },
    { profile: { ...profile, apiHeaders: { 'X-API-Key': `${S.apiKey}\r\nX-Evil: 1` } } },
    { profile: { ...profile, apiHeaders: { [`X ${S.apiKey}`]: 'v' } } },
    { profile: { ...profile, apiHeaders: S.apiKey } },
    { profile, allowedOrigins: [`https://${S.apiKey}@api.example`] },
    { profile, allowedOrigins: [`https://api.example/?key=${S.apiKey}`] },
    { profile, rejectStatuses: [S.apiKey] },
  ]) {
    let error = null;
    try {
      new TokenKeeper(options);
    } catch (e) {
      error = e;
    }
    assert.equal(error?.code, 'AUTH_CONFIG');
    assertClean('config error', dump(error));
  }
});

test('a storage adapter that throws with a secret in its message leaks nothing', async () => {
  const failing = { get: async () => { throw new Error(S.refresh); }, set: async () => { throw new Error(S.refresh); }, delete: async () => {} };
  const urls = [];
  const keeper = new TokenKeeper({ profile, storage: failing, autoRefresh: false, fetch: scripted([tokens()], urls) });
  const seen = observer(keeper);
  await keeper.login();
  assert.ok(seen.some((e) => e.startsWith('storageerror')));
  assertClean('events', seen.join('\n'));
  keeper.close();
});
