// (4) Token-request overhead over a raw fetch client: client_credentials
// with HTTP Basic, (a) against an in-memory fetch that returns a fresh
// `Response` per call (CPU only), (b) over loopback against the devserver's
// TNCO-style `/tnco/oauth/token` (real HTTP, Node's fetch). No browser shims:
// this is the server-side use. Prints one JSON object on stdout.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as oauth from 'oauth4webapi';
import { fakeFetch, makeJwt, median, quantile, timeInterleaved } from './lib.mjs';

const PKG = process.env.BENCH_PKG;
const DEVSERVER = process.env.TOKENKEEPER_DEVSERVER;
const QUICK = process.env.BENCH_QUICK === '1';
const RUNS = QUICK ? 3 : 5;

const { TokenKeeper } = await import(pathToFileURL(join(PKG, 'node.js')).href);

const CLIENT = { id: 'LmClient', secret: 'tnco-demo-secret' };

/** The raw client: form POST with Basic, `res.json()`, a status check. */
function rawClient(tokenUrl, f) {
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT.id)}:${encodeURIComponent(CLIENT.secret)}`).toString('base64')}`;
  return async () => {
    const res = await f(tokenUrl, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'all' }),
    });
    if (!res.ok) throw new Error(`token endpoint: ${res.status}`);
    const body = await res.json();
    if (typeof body.access_token !== 'string') throw new Error('no access_token');
    return body.access_token;
  };
}

function ourClient(tokenUrl, f) {
  const k = new TokenKeeper({
    profile: { kind: 'oauth2', tokenUrl, clientId: CLIENT.id, clientSecret: CLIENT.secret, clientAuth: 'basic', scope: 'all' },
    autoRefresh: false,
    ...(f ? { fetch: f } : {}),
  });
  return { call: () => k.login(), close: () => k.close() };
}

function oauth4Client(tokenUrl, f) {
  const as = { issuer: new URL(tokenUrl).origin, token_endpoint: tokenUrl };
  const client = { client_id: CLIENT.id };
  const auth = oauth.ClientSecretBasic(CLIENT.secret);
  const options = { [oauth.allowInsecureRequests]: true, ...(f ? { [oauth.customFetch]: f } : {}) };
  return async () => {
    const res = await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams({ scope: 'all' }), options);
    const body = await oauth.processClientCredentialsResponse(as, client, res);
    return body.access_token;
  };
}

async function inMemory() {
  const json = JSON.stringify({ access_token: makeJwt(), token_type: 'bearer', expires_in: 1199, scope: 'all' });
  const f = fakeFetch(() => json);
  const url = 'https://idp.example.com/tnco/oauth/token';
  const ours = ourClient(url, f);
  const impls = {
    tokenkeeper: ours.call,
    oauth4webapi: oauth4Client(url, f),
    'raw fetch': rawClient(url, f),
    'floor: fake fetch + res.json() only': async () => (await f(url)).json(),
  };
  for (const fn of Object.values(impls)) await fn(); // every client works before timing
  const ns = await timeInterleaved(impls, { calls: QUICK ? 2_000 : 10_000, runs: RUNS, async: true });
  ours.close();
  return { responseBytes: json.length, us: Object.fromEntries(Object.entries(ns).map(([k, v]) => [k, v / 1000])) };
}

async function loopback() {
  if (!DEVSERVER) return null;
  const url = `${DEVSERVER}/tnco/oauth/token`;
  const ours = ourClient(url);
  const impls = { tokenkeeper: ours.call, oauth4webapi: oauth4Client(url), 'raw fetch': rawClient(url, (...a) => fetch(...a)) };
  const names = Object.keys(impls);
  const n = QUICK ? 1000 : 5000;
  // Warm-up: connections, JIT.
  for (const fn of Object.values(impls)) for (let i = 0; i < 100; i++) await fn();
  // Interleaved request by request (the order alternating), so that the
  // machine's load at any moment weighs on every client alike.
  const times = Object.fromEntries(names.map((k) => [k, []]));
  for (let i = 0; i < n; i++) {
    for (const name of i % 2 ? names : [...names].reverse()) {
      const t0 = performance.now();
      await impls[name]();
      times[name].push((performance.now() - t0) * 1000);
    }
  }
  ours.close();
  return {
    requestsPerClient: n,
    medianUs: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])),
    p99Us: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, quantile(v, 0.99)])),
  };
}

const result = { inMemory: await inMemory(), loopback: await loopback() };
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
