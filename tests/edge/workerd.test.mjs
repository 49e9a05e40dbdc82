// The example Worker (examples/worker/) in local workerd against the
// devserver, everything on 127.0.0.1: two instances of the Worker ("a" and
// "b", each its own isolate and keepers), the KV namespace they share and
// the LgdxTokens Durable Object. workerd comes from WORKERD_BIN (set by
// `cargo xtask test`); the package must be built into pkg/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
/** What workerd wrote to stderr. */
let workerdLog = '';
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

/** Starts workerd with the (staged) example's config on two free loopback ports. */
async function startWorkerd(devserverUrl) {
  const [pa, pb] = [await freePort(), await freePort()];
  const child = spawn(
    workerdBin,
    ['serve', join(staged.example, 'config.capnp'), `--socket-addr=a=127.0.0.1:${pa}`, `--socket-addr=b=127.0.0.1:${pb}`],
    { env: { ...process.env, DEVSERVER_URL: devserverUrl }, stdio: ['ignore', 'inherit', 'pipe'] },
  );
  child.stderr.setEncoding('utf8').on('data', (text) => {
    workerdLog += text;
    process.stderr.write(text);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const urls = [`http://127.0.0.1:${pa}`, `http://127.0.0.1:${pb}`];
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

before(async () => {
  devserver = await startDevserver(['--access-ttl', String(ACCESS_TTL_S), '--tnco-ttl', String(TNCO_TTL_S)]);
  staged = stage('worker');
  workerd = await startWorkerd(devserver.url);
  [a, b] = workerd.urls;
});

after(async () => {
  await workerd?.stop();
  await devserver?.stop();
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

test('workerd reported no uncaught exception and no promise settled across requests', () => {
  assert.doesNotMatch(workerdLog, /Uncaught|different request context|error:/);
});
