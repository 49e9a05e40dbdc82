// The example Worker (examples/worker/) in local workerd against the
// devserver, everything on 127.0.0.1: two instances of the Worker ("a" and
// "b", each its own isolate and keepers), the KV namespace they share and
// the LgdxTokens Durable Object. workerd comes from WORKERD_BIN (set by
// `cargo xtask test`); the package must be built into pkg/. A second workerd
// with its own devserver runs the TokenHolder checks (support/probe/): where
// `durableTokens().fetch` may send the token, and what a Worker that forwards
// requests to the holder, or calls it through RPC, gets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startDevserver } from '../js/support/devserver.mjs';
import { root, stage } from './support/stage.mjs';

const workerdBin = process.env.WORKERD_BIN ?? join(root, 'node_modules/.bin/workerd');

/** LGDX (and Keycloak, IM) tokens live 2 s; TNCO tokens 12 s. */
const ACCESS_TTL_S = 2;
const TNCO_TTL_S = 12;

let devserver;
let staged;
let workerd;
let a;
let b;
/** What the workerd processes wrote to stderr. */
let workerdLog = '';
/** The TokenHolder checks: their devserver, workerd (probe and forward URLs) and loopback listeners. */
let probeDevserver;
let probeWorkerd;
let probe;
let forward;
let api;
let trap;
/** When the first TNCO token was requested. */
let tncoIssuedAt;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts workerd with `config`, each of `sockets` on a free loopback port;
 * resolves to the sockets' URLs (in order) and `stop()`.
 */
async function startWorkerd(config, sockets, devserverUrl) {
  const ports = [];
  for (const _ of sockets) ports.push(await freePort());
  const child = spawn(
    workerdBin,
    ['serve', config, ...sockets.map((name, i) => `--socket-addr=${name}=127.0.0.1:${ports[i]}`)],
    { env: { ...process.env, DEVSERVER_URL: devserverUrl }, stdio: ['ignore', 'inherit', 'pipe'] },
  );
  child.stderr.setEncoding('utf8').on('data', (text) => {
    workerdLog += text;
    process.stderr.write(text);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  for (let i = 0; ; i++) {
    const up = await Promise.all(urls.map((u) => fetch(`${u}/health`).then(() => true, () => false)));
    if (up.every(Boolean)) break;
    if (child.exitCode !== null || i > 100) throw new Error(`workerd did not start (exit ${child.exitCode})`);
    await sleep(100);
  }
  return {
    urls,
    stop: async () => {
      child.kill();
      await exited;
    },
  };
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
  devserver = await startDevserver(['--access-ttl', String(ACCESS_TTL_S), '--tnco-ttl', String(TNCO_TTL_S)]);
  staged = stage('worker');
  workerd = await startWorkerd(join(staged.example, 'config.capnp'), ['a', 'b'], devserver.url);
  [a, b] = workerd.urls;
  // The TokenHolder checks, staged beside the same package.
  probeDevserver = await startDevserver();
  const probeDir = join(staged.dir, 'probe');
  cpSync(join(root, 'tests/edge/support/probe'), probeDir, { recursive: true });
  probeWorkerd = await startWorkerd(join(probeDir, 'config.capnp'), ['probe', 'forward'], probeDevserver.url);
  [probe, forward] = probeWorkerd.urls;
  trap = await recorder();
  api = await recorder(() => `${trap.url}/stolen`);
});

after(async () => {
  await workerd?.stop();
  await probeWorkerd?.stop();
  await devserver?.stop();
  await probeDevserver?.stop();
  await trap?.stop();
  await api?.stop();
  staged?.remove();
});

/** GETs `path` on `base` `n` times at once; resolves to the responses' statuses, bodies, isolates and times. */
async function burst(base, path, n) {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const started = performance.now();
      const res = await fetch(`${base}${path}`);
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
  console.log(`# workerd: 200 concurrent requests → ${stats.client_credentials.tnco} token request(s), ${stats.protected_calls.ok} API calls ok`);
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
  console.log(`# workerd: 2 instances × 200 requests → ${stats.client_credentials.tnco} token request(s) (KV-shared)`);
  assert.equal(stats.client_credentials.tnco, 1, 'instance b reused the token instance a stored in KV');
  assert.equal(stats.protected_calls.ok, 401);
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
    `# workerd: refresh-ahead under waitUntil: ${seen.length} requests, slowest ${slowest.toFixed(0)} ms ` +
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
    `# workerd: ${calls} LGDX calls over ${seconds} s from 2 instances → ${stats.logins.lgdx} login, ` +
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
  const res = await fetch(`${probe}${path}?${params}`);
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
    const res = await fetch(`${forward}${path}`, { method, body, headers: body ? { 'content-type': 'application/json' } : {} });
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

test('workerd reported no uncaught exception and no promise settled across requests', () => {
  assert.doesNotMatch(workerdLog, /Uncaught|different request context|error:/);
});
