// Shared pieces of the benchmark scripts: statistics, timing loops, the JWT
// fixture, in-memory fetch fakes and the minimal browser shims the browser
// libraries need to run in Node.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/** Median of a list of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Quantile `q` (0..1) of a list of numbers, nearest rank. */
export function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : NaN;
}

/** A value kept alive so the optimiser cannot drop the measured work. */
export let sink;

/**
 * Times `impls` ({ name: fn }) interleaved: each run times every
 * implementation once (`calls` calls in a loop), `runs` runs in total, after a
 * warm-up run. Returns { name: median ns per call }. `fn` may return a
 * promise; it is then awaited on every call.
 */
export async function timeInterleaved(impls, { calls, runs, async = false }) {
  const names = Object.keys(impls);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let run = -1; run < runs; run++) {
    for (const name of run % 2 ? names : [...names].reverse()) {
      const fn = impls[name];
      const t0 = performance.now();
      if (async) {
        for (let i = 0; i < calls; i++) sink = await fn();
      } else {
        for (let i = 0; i < calls; i++) sink = fn();
      }
      const ns = ((performance.now() - t0) * 1e6) / calls;
      if (run >= 0) samples[name].push(ns);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]));
}

const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/**
 * An RS256-shaped JWT (random 256-byte signature: nothing here verifies it)
 * with the 12 claims of the research fixture, about 950 bytes.
 */
export function makeJwt({ exp, iat = Math.floor(Date.now() / 1000), extra = {} } = {}) {
  const header = { alg: 'RS256', typ: 'JWT', kid: 'bench-key-2025-01' };
  const payload = {
    iss: 'https://idp.example.com/realms/bench',
    sub: 'f1c2a3b4-5d6e-4f70-8a9b-0c1d2e3f4a5b',
    aud: ['bench-api', 'account'],
    exp: exp ?? iat + 3600,
    iat,
    nbf: iat,
    jti: 'b7e2c4d1-9a8f-4e3b-a1c2-d3e4f5a6b7c8',
    azp: 'bench-client',
    scope: 'openid profile email offline_access orders:read orders:write',
    sid: '3c9d5e7f-1a2b-4c3d-8e9f-0a1b2c3d4e5f',
    email: 'benchmark.user@example.com',
    name: 'Benchmark User With A Reasonably Long Display Name',
    ...extra,
  };
  return `${b64url(header)}.${b64url(payload)}.${randomBytes(256).toString('base64url')}`;
}

/**
 * A fetch that answers every request in memory with a fresh `Response` of
 * `body()` (JSON) and counts the calls. It does not read the request body.
 */
export function fakeFetch(body) {
  const f = async () => {
    f.calls++;
    return new Response(typeof body === 'function' ? body() : body, {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });
  };
  f.calls = 0;
  return f;
}

/** A Storage-like object in memory. */
export function memoryStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => void m.set(k, String(v)),
    removeItem: (k) => void m.delete(k),
    clear: () => m.clear(),
    key: (i) => [...m.keys()][i] ?? null,
    get length() {
      return m.size;
    },
  };
}

/**
 * Minimal browser globals for the browser libraries: `window`, `document`,
 * `location`, `history`, `localStorage`, `sessionStorage`, `navigator` with
 * an in-process Web Locks `locks.request` (exclusive, FIFO), and
 * `Promise.withResolvers` (keycloak-js 26 needs it; Node 20 lacks it).
 */
export function installBrowserShims(origin = 'https://app.example.com') {
  const g = globalThis;
  if (g.__benchShims) return;
  g.__benchShims = true;
  if (!Promise.withResolvers) {
    Promise.withResolvers = function withResolvers() {
      let resolve;
      let reject;
      const promise = new this((a, b) => {
        resolve = a;
        reject = b;
      });
      return { promise, resolve, reject };
    };
  }
  const noop = () => {};
  const location = {
    href: `${origin}/`,
    origin,
    protocol: new URL(origin).protocol,
    host: new URL(origin).host,
    hostname: new URL(origin).hostname,
    pathname: '/',
    search: '',
    hash: '',
    assign: noop,
    replace: noop,
    reload: noop,
  };
  const element = () => ({ setAttribute: noop, style: {}, addEventListener: noop, appendChild: noop, remove: noop });
  const document = {
    cookie: '',
    visibilityState: 'visible',
    hidden: false,
    addEventListener: noop,
    removeEventListener: noop,
    createElement: element,
    body: element(),
    head: element(),
    querySelector: () => null,
  };
  const queues = new Map();
  const locks = {
    async request(name, options, callback) {
      const cb = typeof options === 'function' ? options : callback;
      const prev = queues.get(name) ?? Promise.resolve();
      let release;
      const mine = new Promise((r) => (release = r));
      queues.set(name, prev.then(() => mine));
      await prev;
      try {
        return await cb({ name, mode: 'exclusive' });
      } finally {
        release();
      }
    },
  };
  const define = (name, value) => Object.defineProperty(g, name, { value, configurable: true, writable: true });
  define('window', g);
  define('self', g);
  define('location', location);
  define('document', document);
  define('history', { state: null, replaceState: noop, pushState: noop });
  define('localStorage', memoryStorage());
  define('sessionStorage', memoryStorage());
  define('navigator', { userAgent: 'bench', locks, onLine: true });
  if (!g.addEventListener) {
    g.addEventListener = noop;
    g.removeEventListener = noop;
  }
}

/** Formats a number for tables: 3 significant digits, thin grouping. */
export function fmt(n, digits = 3) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (!Number.isFinite(n)) return '∞';
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  return Number(n.toPrecision(digits)).toString();
}
