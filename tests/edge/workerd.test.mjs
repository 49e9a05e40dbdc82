// The example Worker (examples/worker/) in Miniflare 4, the Workers
// platform's local simulator, against the devserver, everything on
// 127.0.0.1: two instances of the Worker ("a" and "b", each its own isolate
// and keepers), the KV namespace they share and the LgdxTokens Durable
// Object, with the options of examples/worker/miniflare.mjs. Miniflare comes
// from MINIFLARE and runs the workerd of WORKERD_BIN (both set by `cargo
// xtask test`); the package must be built into pkg/. A second Miniflare with
// its own devserver runs the TokenHolder checks (support/probe/): where
// `durableTokens().fetch` may send the token, and what a Worker that forwards
// requests to the holder, or calls it through RPC, gets.
//
// Miniflare's KV is local: a write is seen at once by every Worker of the
// instance (the platform's KV is eventually consistent across locations, up
// to 60 s), and, as on the platform, `expirationTtl` must be at least 60 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { startDevserver } from '../js/support/devserver.mjs';
import { loadMiniflare, start } from './support/miniflare.mjs';
import { root, stage } from './support/stage.mjs';

/** LGDX (and Keycloak, IM) tokens live 2 s; TNCO tokens 12 s. */
const ACCESS_TTL_S = 2;
const TNCO_TTL_S = 12;
/** A request that hangs (a promise settled across requests never resumes) fails instead. */
const REQUEST_TIMEOUT_MS = 30_000;

let devserver;
let staged;
/** The example's Miniflare, and a fetch for each instance: `(path, init) => Response`. */
let example;
let a;
let b;
/** The TokenHolder checks: their devserver, Miniflare (probe and forward fetches) and loopback listeners. */
let probeDevserver;
let probeMiniflare;
let probe;
let forward;
let api;
let trap;
/** When the first TNCO token was requested. */
let tncoIssuedAt;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A fetch of the Worker that Miniflare routes `host` to. */
function via(mf, host) {
  return (path, init = {}) =>
    mf.dispatchFetch(`http://${host}${path}`, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

/**
 * An HTTP listener on 127.0.0.1 that records every request (method, path,
 * Authorization) and answers 200, or for `GET /redirect` a 302 to
 * `redirectTo`.
 */
async function recorder(redirectTo) {
  const requests = [];
  const server = createHttpServer((req, res) => {
    requests.push({ method: req.method, path: req.url, authorization: req.headers.authorization ?? null });
    if (req.url === '/redirect' && redirectTo) {
      res.writeHead(302, { location: redirectTo() });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('recorded\n');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

before(async () => {
  const miniflare = await loadMiniflare();
  const { workerd } = miniflare;
  console.log(
    `# Miniflare ${miniflare.version}, ${workerd.version} (${workerd.path})` +
      (workerd.same ? '' : `: not the workerd ${miniflare.wanted} Miniflare depends on`),
  );
  devserver = await startDevserver(['--access-ttl', String(ACCESS_TTL_S), '--tnco-ttl', String(TNCO_TTL_S)]);
  staged = stage('worker');
  const { bundle, exampleOptions, HOSTS, COMPATIBILITY_DATE } = await import(
    pathToFileURL(join(staged.example, 'miniflare.mjs')).href
  );
  const modules = await bundle(esbuild, join(staged.example, 'worker.js'));
  example = await start(miniflare, exampleOptions({ modules, devserverUrl: devserver.url }));
  a = via(example.mf, HOSTS.a);
  b = via(example.mf, HOSTS.b);
  // The TokenHolder checks, bundled beside the same package.
  probeDevserver = await startDevserver();
  const probeDir = join(staged.dir, 'probe');
  cpSync(join(root, 'tests/edge/support/probe'), probeDir, { recursive: true });
  const { probeOptions, HOSTS: PROBE_HOSTS } = await import(pathToFileURL(join(probeDir, 'workers.mjs')).href);
  const probeModules = {
    probe: await bundle(esbuild, join(probeDir, 'probe.js')),
    forward: await bundle(esbuild, join(probeDir, 'forward.js')),
  };
  probeMiniflare = await start(
    miniflare,
    probeOptions({ modules: probeModules, devserverUrl: probeDevserver.url, compatibilityDate: COMPATIBILITY_DATE }),
  );
  probe = via(probeMiniflare.mf, PROBE_HOSTS.probe);
  forward = via(probeMiniflare.mf, PROBE_HOSTS.forward);
  trap = await recorder();
  api = await recorder(() => `${trap.url}/stolen`);
});

after(async () => {
  await example?.stop();
  await probeMiniflare?.stop();
  await devserver?.stop();
  await probeDevserver?.stop();
  await trap?.stop();
  await api?.stop();
  staged?.remove();
});

/** GETs `path` through `instance` `n` times at once; resolves to the responses' statuses, bodies, isolates and times. */
async function burst(instance, path, n) {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const started = performance.now();
      const res = await instance(path);
      const body = await res.text();
      return { status: res.status, body, isolate: res.headers.get('x-isolate'), ms: performance.now() - started };
    }),
  );
}

function assertAllOk(results, what) {
  const bad = results.filter((r) => r.status !== 200);
  assert.equal(bad.length, 0, `${what}: ${bad.length} failed, e.g. ${bad[0]?.status} ${bad[0]?.body}`);
}

test('200 concurrent requests to one Worker instance make one token request, and every proxied call succeeds', async () => {
  tncoIssuedAt = performance.now();
  const results = await burst(a, '/tnco/api/resources', 200);
  assertAllOk(results, 'instance a');
  assert.match(results[0].body, /edge-router-1/);
  const stats = await devserver.stats();
  console.log(`# miniflare: 200 concurrent requests → ${stats.client_credentials.tnco} token request(s), ${stats.protected_calls.ok} API calls ok`);
  assert.equal(stats.client_credentials.tnco, 1);
  assert.equal(stats.protected_calls.ok, 200);
  assert.equal(new Set(results.map((r) => r.isolate)).size, 1, 'one isolate');
});

test('a second Worker instance (another isolate, its own keeper) reads the token from the shared KV namespace', async () => {
  const results = await burst(b, '/tnco/api/resources', 200);
  assertAllOk(results, 'instance b');
  const [ia] = (await burst(a, '/tnco/api/resources', 1)).map((r) => r.isolate);
  assert.notEqual(results[0].isolate, ia, 'instances a and b are different isolates');
  const stats = await devserver.stats();
  console.log(`# miniflare: 2 instances × 200 requests → ${stats.client_credentials.tnco} token request(s) (KV-shared)`);
  assert.equal(stats.client_credentials.tnco, 1, 'instance b reused the token instance a stored in KV');
  assert.equal(stats.protected_calls.ok, 401);
  // The record expires with KV's smallest expirationTtl (60 s), past the token's 12 s.
  const { keys } = await (await example.mf.getKVNamespace('TOKENS_KV', 'a')).list();
  assert.deepEqual(keys.map((k) => k.name), ['tnco']);
  const ttl = keys[0].expiration - Date.now() / 1000;
  assert.ok(ttl > TNCO_TTL_S && ttl <= 61, `the KV record expires in ${ttl.toFixed(1)} s`);
});

test('a token due for refresh is returned at once; the refresh runs after the response, under ctx.waitUntil', async () => {
  assert.equal((await devserver.stats()).client_credentials.tnco, 1);
  // The next token request answers 1.5 s late.
  await devserver.fault({ match: 'tnco.token', kind: 'delay', delay_ms: 1500 });
  const seen = [];
  // Refresh-ahead is due 5 to 7 s into the 12 s lifetime of the token of the first test.
  while (performance.now() - tncoIssuedAt < 10_000) {
    const [r] = await burst(a, '/tnco/api/resources', 1);
    seen.push(r);
    if ((await devserver.stats()).client_credentials.tnco === 2) break;
    await sleep(200);
  }
  // The refresh outlives the response that started it.
  await sleep(2000);
  assertAllOk(await burst(a, '/tnco/api/resources', 1), 'after the refresh');
  assertAllOk(seen, 'during the background refresh');
  const stats = await devserver.stats();
  const tokenRequests = stats.log.filter((l) => l.endpoint === 'tnco.token');
  assert.equal(tokenRequests.at(-1).status, 200);
  const slowest = Math.max(...seen.map((r) => r.ms));
  console.log(
    `# miniflare: refresh-ahead under waitUntil: ${seen.length} requests, slowest ${slowest.toFixed(0)} ms ` +
      `while the token request took 1500 ms; token requests ${stats.client_credentials.tnco}`,
  );
  assert.equal(stats.client_credentials.tnco, 2, 'the background refresh completed');
  assert.ok(slowest < 1000, `no request waited for the delayed refresh (slowest ${slowest} ms)`);
  assert.equal(stats.expired_token_calls, 0);
});

test('rotating refresh tokens: two instances refresh through the Durable Object, one refresh per rotation, no reuse', async () => {
  const seconds = 7;
  const deadline = performance.now() + seconds * 1000;
  let calls = 0;
  const failures = [];
  while (performance.now() < deadline) {
    const rounds = await Promise.all([burst(a, '/Navigation/Realms', 10), burst(b, '/Navigation/Realms', 10)]);
    for (const r of rounds.flat()) {
      calls++;
      if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
    }
    await sleep(100);
  }
  const stats = await devserver.stats();
  const refreshes = stats.refreshes.lgdx ?? 0;
  console.log(
    `# miniflare: ${calls} LGDX calls over ${seconds} s from 2 instances → ${stats.logins.lgdx} login, ` +
      `${refreshes} refreshes (${ACCESS_TTL_S} s tokens), ${stats.reuse_detections.total} reuse detections, ` +
      `${stats.refresh_rejections.total} rejected refreshes`,
  );
  assert.deepEqual(failures, []);
  assert.equal(stats.logins.lgdx, 1, 'one login for both instances');
  assert.equal(stats.reuse_detections.total, 0, 'no refresh token was used twice');
  assert.equal(stats.refresh_rejections.total, 0);
  // A rotation every token lifetime (at most one per second: minIntervalMs).
  assert.ok(refreshes >= Math.floor(seconds / ACCESS_TTL_S) - 1, `${refreshes} refreshes`);
  assert.ok(refreshes <= seconds + 1, `${refreshes} refreshes`);
  const sessions = (await fetch(`${devserver.url}/admin/sessions`).then((r) => r.json())).sessions;
  const lgdx = sessions.filter((s) => s.style === 'lgdx');
  assert.equal(lgdx.length, 1);
  assert.equal(lgdx[0].refreshes, refreshes, 'every refresh continued the one session');
  assert.equal(lgdx[0].revoked, false);
});

/** GET `path` with `query` on the probe Worker; resolves to the JSON it answers. */
async function probeGet(path, query = []) {
  const params = new URLSearchParams(query);
  const res = await probe(`${path}?${params}`);
  const text = await res.text();
  assert.equal(res.status, 200, `${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** The devserver's count of calls to the LGDX API (`GET /Navigation/Realms`), answered or not. */
async function realmsCalls() {
  return (await probeDevserver.stats()).log.filter((l) => l.endpoint === 'lgdx.realms').length;
}

test('durableTokens().fetch sends the token to allowedOrigins only: another origin gets a typed AUTH_ORIGIN_NOT_ALLOWED and no request', async () => {
  trap.requests.length = 0;
  const dev = probeDevserver.url;
  const port = new URL(dev).port;
  const realms = `${dev}/Navigation/Realms`;
  const ok = await probeGet('/api-fetch', [['allow', dev], ['url', realms]]);
  assert.equal(ok.status, 200, JSON.stringify(ok));
  assert.match(ok.body, /Demo Realm/);
  // Entries are compared as URL.origin serialises them: case, a trailing slash.
  const normalised = await probeGet('/api-fetch', [['allow', `HTTP://127.0.0.1:${port}/`], ['url', realms]]);
  assert.equal(normalised.status, 200, JSON.stringify(normalised));
  const callsBefore = await realmsCalls();
  const refused = [
    [`${trap.url}/steal`, dev], // another port
    [`http://localhost:${port}/Navigation/Realms`, dev], // another host, the same server
    [realms, `https://127.0.0.1:${port}`], // the allowed origin is https
    [`${trap.url}/steal`, `${dev}`, `https://127.0.0.1:${new URL(trap.url).port}`],
  ];
  for (const [url, ...allow] of refused) {
    const r = await probeGet('/api-fetch', [...allow.map((o) => ['allow', o]), ['url', url]]);
    assert.equal(r.constructed, true, JSON.stringify(r));
    assert.deepEqual(
      { typed: r.thrown?.typed, name: r.thrown?.name, code: r.thrown?.code, transient: r.thrown?.transient },
      { typed: true, name: 'TokenKeeperError', code: 'AUTH_ORIGIN_NOT_ALLOWED', transient: false },
      `${url} with ${allow}: ${JSON.stringify(r)}`,
    );
    assert.match(r.thrown.message, /is not an allowed origin/);
    assert.doesNotMatch(r.thrown.message, /steal|Navigation/, 'the message names the origin, not the path');
  }
  assert.deepEqual(trap.requests, [], 'nothing reached the other origin');
  assert.equal(await realmsCalls(), callsBefore, 'nothing was sent to a refused origin of the same server');
});

test('durableTokens().fetch without allowedOrigins sends the token nowhere; an http: entry off loopback is AUTH_CONFIG', async () => {
  trap.requests.length = 0;
  const dev = probeDevserver.url;
  const callsBefore = await realmsCalls();
  for (const url of [`${dev}/Navigation/Realms`, `${trap.url}/steal`]) {
    const r = await probeGet('/api-fetch', [['url', url]]);
    assert.equal(r.thrown?.typed, true, JSON.stringify(r));
    assert.equal(r.thrown.code, 'AUTH_ORIGIN_NOT_ALLOWED');
    assert.match(r.thrown.message, /allowedOrigins/, 'the message says what to set');
  }
  const bad = await probeGet('/api-fetch', [['allow', 'http://api.example'], ['url', `${dev}/Navigation/Realms`]]);
  assert.equal(bad.constructed, false, JSON.stringify(bad));
  assert.equal(bad.thrown.typed, true);
  assert.equal(bad.thrown.code, 'AUTH_CONFIG');
  assert.match(bad.thrown.message, /allowedOrigins/);
  assert.deepEqual(trap.requests, []);
  assert.equal(await realmsCalls(), callsBefore);
});

test('durableTokens().fetch follows no redirect: a 302 to another origin comes back, and that origin gets nothing', async () => {
  trap.requests.length = 0;
  api.requests.length = 0;
  const r = await probeGet('/api-fetch', [['allow', api.url], ['url', `${api.url}/redirect`]]);
  assert.equal(r.status, 302, JSON.stringify(r));
  assert.equal(r.location, `${trap.url}/stolen`);
  assert.equal(api.requests.length, 1);
  assert.match(api.requests[0].authorization ?? '', /^Bearer \S+$/, 'the allowed origin got the token');
  assert.deepEqual(trap.requests, [], 'the redirect was not followed');
});

test('a request forwarded to the TokenHolder (stub.fetch(request)) gets 404 and no token; RPC hands the token out', async () => {
  // What a Worker that forwards requests as they are would hand out; then the RPC the client uses.
  const attempts = [
    ['POST', '/token', '{}'],
    ['POST', '/refresh', JSON.stringify({ stale: 'not-the-held-token' })],
    ['POST', '/refresh', '{}'],
    ['GET', '/token', undefined],
    ['GET', '/', undefined],
  ];
  const answers = [];
  for (const [method, path, body] of attempts) {
    const res = await forward(path, { method, body, headers: body ? { 'content-type': 'application/json' } : {} });
    const text = await res.text();
    answers.push(text);
    assert.equal(res.status, 404, `${method} ${path}: ${res.status} ${text}`);
    assert.doesNotMatch(text, /accessToken|eyJ/, `${method} ${path}: ${text}`);
  }
  const answer = await probeGet('/rpc');
  assert.equal(answer.ok, true, JSON.stringify(answer));
  assert.equal(typeof answer.accessToken, 'string');
  assert.ok(answer.freshUntil > Date.now() - 60_000 && answer.expiresAt >= answer.freshUntil, JSON.stringify(answer));
  const token = answer.accessToken;
  for (const text of answers) assert.ok(!text.includes(token), 'a forwarded request got the token');
  // refresh(stale) with a token other than the held one hands out the held one.
  const again = await probeGet('/rpc', [['stale', 'not-the-held-token']]);
  assert.equal(again.ok, true, JSON.stringify(again));
  assert.equal(again.accessToken, token);
});

test('TokenHolder errors cross RPC with their code, status and transient, and durableTokens rethrows them as TokenKeeperError', async () => {
  const answer = await probeGet('/rpc', [['holder', 'wrong-password']]);
  assert.equal(answer.ok, false, JSON.stringify(answer));
  assert.deepEqual(
    { code: answer.error.code, status: answer.error.status, error: answer.error.error, transient: answer.error.transient },
    { code: 'OAUTH_RESPONSE_BODY_ERROR', status: 401, error: 'invalid_grant', transient: false },
  );
  assert.doesNotMatch(JSON.stringify(answer), /not-the-password/);
  const terminal = await probeGet('/access-token', [['holder', 'wrong-password']]);
  assert.deepEqual(
    { ...terminal.thrown, message: undefined },
    { typed: true, name: 'TokenKeeperError', code: 'OAUTH_RESPONSE_BODY_ERROR', status: 401, transient: false, message: undefined },
    JSON.stringify(terminal),
  );
  // A fresh holder whose login meets a 503: transient.
  await probeDevserver.fault({ match: 'lgdx.login', kind: 'error', status: 503 });
  const transient = await probeGet('/access-token', [['name', 'fresh-after-503']]);
  assert.deepEqual(
    { typed: transient.thrown?.typed, status: transient.thrown?.status, transient: transient.thrown?.transient },
    { typed: true, status: 503, transient: true },
    JSON.stringify(transient),
  );
  assert.equal(typeof transient.thrown.code, 'string');
  // The next login goes through.
  const recovered = await probeGet('/access-token', [['name', 'fresh-after-503']]);
  assert.equal(typeof recovered.token, 'string', JSON.stringify(recovered));
});

test('DPoP in workerd: WebCrypto makes the key, login, refresh and a protected call carry proofs the devserver verifies', async () => {
  await probeDevserver.config({ dpop: 'required', dpop_nonce: 'both' });
  try {
    const before = (await probeDevserver.stats()).dpop;
    const answer = await probeGet('/dpop');
    assert.deepEqual(answer, { status: 200, user: 'demo', session: 'active' }, JSON.stringify(answer));
    const after = (await probeDevserver.stats()).dpop;
    // Login and refresh bound; the only refusal is the first request's nonce challenge.
    assert.equal(after.bound_tokens - (before?.bound_tokens ?? 0), 2);
    assert.equal(after.rejected.total - (before?.rejected?.total ?? 0), 1);
    assert.equal(after.rejected.nonce - (before?.rejected?.nonce ?? 0), 1);
    assert.equal(after.accepted - (before?.accepted ?? 0), 3);
  } finally {
    await probeDevserver.config({ dpop: 'off', dpop_nonce: 'off' });
  }
});

test('workerd reported no uncaught exception and no promise settled across requests', () => {
  // workerd --verbose logs `uncaught exception; source = Uncaught …` for a thrown error or a
  // rejected waitUntil promise; Miniflare logs a Worker's failure as an error.
  // One exception: a body forwarded with stub.fetch(request) that the holder answers
  // without reading (the forward test's three POSTs) makes workerd log, at info level, that
  // the forwarding Worker could not stream it after the response: the body, not the code.
  const unreadBody = /^.*Can't read from request stream after response has been sent\.\n(stack:.*\n)?/gm;
  const forwarded = probeMiniflare.log().match(unreadBody) ?? [];
  assert.ok(forwarded.length <= 3, `${forwarded.length} unread forwarded bodies`);
  const log = example.log() + probeMiniflare.log().replace(unreadBody, '');
  assert.doesNotMatch(log, /uncaught exception|Uncaught|different request context|request that has since ended|error:|\[mf:(warn|error)\]/i);
});
