// Runs every measurement side by side and writes results.json, bench.md and
// bench.svg into BENCH_OUT. Environment: BENCH_PKG (the built package),
// BENCH_GLUE (wasm-bindgen's unbundled glue, for timing the wasm half
// alone), BENCH_OUT, TOKENKEEPER_DEVSERVER (a running devserver, for the
// loopback figures), BENCH_VITE (the Vite package directory, for the
// browser pages), CHROMIUM_BIN (default /usr/bin/chromium), BENCH_QUICK=1
// (fewer iterations, for trying the scripts out).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { browserStart } from './browser.mjs';
import { bundles } from './bundle.mjs';
import { cold } from './cold.mjs';
import { fmt } from './lib.mjs';

const PKG = process.env.BENCH_PKG;
const OUT = process.env.BENCH_OUT;
if (!PKG || !OUT || !process.env.BENCH_GLUE) throw new Error('BENCH_PKG, BENCH_GLUE and BENCH_OUT must be set');
const QUICK = process.env.BENCH_QUICK === '1';
const here = new URL('.', import.meta.url).pathname;
mkdirSync(OUT, { recursive: true });

const started = Date.now();
const load = [loadavg()[0]];
const step = (what) => console.log(`bench: ${what} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
const child = (script) =>
  JSON.parse(
    execFileSync(process.execPath, [join(here, script)], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
      .trim()
      .split('\n')
      .pop(),
  );

step('1. bundle sizes (esbuild)');
const size = await bundles(PKG, join(OUT, 'bundles'));
step('2. cold start (fresh processes)');
const start = cold({ pkg: PKG, bundleDir: join(OUT, 'bundles'), samples: QUICK ? 3 : 10 });
load.push(loadavg()[0]);
step('3, 5, 6. cached lookup, 1000 callers at expiry, JWT decode');
const runtime = child('runtime.mjs');
load.push(loadavg()[0]);
step('4. token-request overhead (in memory, loopback)');
const request = child('request.mjs');
load.push(loadavg()[0]);
step('7. start-up in headless Chromium (Vite build, fresh context per sample)');
const browser = await browserStart({
  pkg: PKG,
  viteDir: process.env.BENCH_VITE ?? '',
  chromium: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
  outDir: join(OUT, 'browser'),
  samples: QUICK ? 5 : 30,
});
if (browser.skipped) console.log(`bench: browser start-up skipped: ${browser.skipped}`);
load.push(loadavg()[0]);
step('done measuring');

const version = (p) => {
  for (const dir of [join(here, 'node_modules', p), join(here, '..', 'node_modules', p)]) {
    try {
      return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
    } catch {
      // not in this node_modules
    }
  }
  return '?';
};
const versions = Object.fromEntries(
  ['oidc-client-ts', '@auth0/auth0-spa-js', 'keycloak-js', 'oauth4webapi', 'jose', 'jwt-decode', 'esbuild'].map((p) => [p, version(p)]),
);
const meta = {
  date: new Date().toISOString().slice(0, 10),
  cpu: `${cpus()[0]?.model?.trim()} × ${cpus().length}`,
  memGiB: Math.round(totalmem() / 2 ** 30),
  kernel: `Linux ${release()}`,
  node: process.version,
  v8: process.versions.v8,
  load: load.map((l) => l.toFixed(1)),
  quick: QUICK,
  seconds: Math.round((Date.now() - started) / 1000),
  versions,
};
const results = { meta, size, start, runtime, request, browser };

// ---- rendering --------------------------------------------------------
const PEERS = ['oidc-client-ts', '@auth0/auth0-spa-js', 'keycloak-js', 'oauth4webapi'];
const kib = (b) => fmt(b / 1024, 3);
const ratio = (a, b) => (a > 0 && b > 0 ? `${fmt(a / b, 3)}x` : '–');
/** A cold-start difference; at or below 0 it is lost in the noise of the baseline. */
const ms = (v) => (v > 0 ? fmt(v) : '≈ 0 (in the noise)');

/** The tokenkeeper ÷ peer ratios drawn in the chart (below 1: tokenkeeper is smaller or faster). */
function keyRatios(r) {
  const rows = [];
  const ours = r.size.bundles.tokenkeeper.total.gzip;
  for (const p of PEERS) rows.push(['bundle gzip', p, ours / r.size.bundles[p.replace('@auth0/', '')].total.gzip]);
  for (const p of PEERS) rows.push(['cold start (Node)', p, r.start.ms['package:tokenkeeper'] / r.start.ms[`package:${p}`]]);
  const c = r.runtime.cached;
  for (const p of ['keycloak-js', '@auth0/auth0-spa-js', 'oidc-client-ts']) rows.push(['cached token', p, c.tokenkeeper / c[p]]);
  const q = r.request.inMemory.us;
  rows.push(['token request CPU', 'raw fetch', q.tokenkeeper / q['raw fetch']]);
  rows.push(['token request CPU', 'oauth4webapi', q.tokenkeeper / q.oauth4webapi]);
  if (r.request.loopback) {
    const l = r.request.loopback.medianUs;
    rows.push(['token request loopback', 'raw fetch', l.tokenkeeper / l['raw fetch']]);
  }
  for (const [n, metric] of [['loopback', 'browser start-up'], ['throttled', 'browser start-up, throttled']]) {
    const b = r.browser?.networks?.[n]?.ready;
    if (b) for (const p of ['oidc-client-ts', 'keycloak-js']) rows.push([metric, p, b.tokenkeeper.median / b[p].median]);
  }
  const d = r.runtime.decode.ns;
  const first = d['tokenkeeper, first read per token (KeeperCore state)'];
  rows.push(['JWT claims decode', 'jose', first / d['jose decodeJwt']]);
  rows.push(['JWT claims decode', 'jwt-decode', first / d['jwt-decode jwtDecode']]);
  return rows.filter(([, , v]) => Number.isFinite(v) && v > 0);
}

function markdown(r) {
  const m = r.meta;
  const L = [];
  const table = (head, rows) => {
    L.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`);
    for (const row of rows) L.push(`| ${row.join(' | ')} |`);
    L.push('');
  };
  L.push('# Benchmarks', '');
  L.push(
    `Written by \`cargo xtask bench\` on ${m.date}: ${m.cpu} (${m.memGiB} GiB, ${m.kernel}), Node ${m.node} (V8 ${m.v8}), ` +
      `load average ${m.load.join(' → ')} during the run, ${m.seconds} s of measuring${m.quick ? ' (**quick mode: few iterations**)' : ''}. ` +
      'The machine is shared, so absolute numbers move between runs; compare the ratios, which come from the same run ' +
      '(implementations are interleaved inside each measurement).',
    '',
  );
  L.push(`Peers from npm, pinned in \`bench/package-lock.json\`: ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`, '');
  L.push('![tokenkeeper ÷ peer, log scale](bench.svg)', '');

  // Targets
  const s = r.size.shipped;
  const cachedNs = r.runtime.cached.tokenkeeper;
  const reqRatio = r.request.inMemory.us.tokenkeeper / r.request.inMemory.us['raw fetch'];
  const loopRatio = r.request.loopback ? r.request.loopback.medianUs.tokenkeeper / r.request.loopback.medianUs['raw fetch'] : null;
  const coldMs = r.start.ms['package:tokenkeeper'];
  const yes = (ok) => (ok ? '**met**' : '**not met**');
  const chromium = r.browser?.networks?.loopback?.ready;
  const behindOidc = chromium ? chromium.tokenkeeper.median - chromium['oidc-client-ts'].median : null;
  L.push('## Targets', '');
  table(
    ['target', 'measured', ''],
    [
      ...[80, 64, 48].map((kb, i) => [
        `.wasm + browser entry ≤ ${kb} KB gzip${['', ' (target)', ' (stretch)'][i]}`,
        `${fmt(s.total.gzip / 1000)} KB (.wasm + \`index.js\`, whose glue comes with the class)`,
        yes(s.total.gzip <= kb * 1000),
      ]),
      [
        'start-up in Chromium within 10 ms of oidc-client-ts',
        behindOidc === null ? 'not measured' : `${fmt(behindOidc)} ms behind (§7, loopback, medians)`,
        behindOidc === null ? '' : yes(behindOidc <= 10),
      ],
      ['cold start in Node ≤ 5 ms', `${fmt(coldMs)} ms (Node entry, import + first construction)`, yes(coldMs <= 5)],
      [
        'token-request overhead ≤ 2x raw fetch in memory (stretch 1.2x)',
        `${fmt(reqRatio)}x CPU (in memory)${loopRatio ? `; ${fmt(loopRatio)}x over loopback` : ''}`,
        yes(reqRatio <= 2),
      ],
      ['cached lookup ≤ 0.3 µs', `${fmt(cachedNs / 1000)} µs`, yes(cachedNs <= 300)],
    ],
  );

  // 1. Bundles
  L.push('## 1. Bundle cost (KiB)', '');
  L.push(
    'tokenkeeper "as shipped" is each file compressed on its own; "bundled" is what a bundler emits: the entry ' +
      '(`bench/entries/tokenkeeper.js`) minified into one JS file, plus the `.wasm` asset. Peers: esbuild ' +
      '`--bundle --minify --format=esm --platform=browser` of `bench/entries/<peer>.js` (log in, a valid token, refresh). ' +
      'gzip level 9, brotli quality 11 (Node zlib).',
    '',
  );
  const ours = r.size.bundles.tokenkeeper.total;
  const rows = [
    ['tokenkeeper .wasm', s.wasm],
    ['tokenkeeper browser entry (`index.js`: glue and class in one module)', s.entry],
    ['tokenkeeper as shipped: .wasm + `index.js`', s.total],
    ['**tokenkeeper bundled: minified JS + .wasm**', ours],
    ...['oidc-client-ts', 'auth0-spa-js', 'keycloak-js', 'oauth4webapi', 'jwt-decode', 'jose-decode'].map((p) => [
      p === 'jose-decode' ? 'jose (decodeJwt + header)' : p === 'auth0-spa-js' ? '@auth0/auth0-spa-js' : p,
      r.size.bundles[p].total,
    ]),
  ];
  table(
    ['bundle', 'raw', 'gzip', 'brotli', 'tokenkeeper bundled ÷ this (gzip)'],
    rows.map(([n, z], i) => [n, kib(z.raw), kib(z.gzip), kib(z.brotli), i > 3 ? ratio(ours.gzip, z.gzip) : '']),
  );

  // 2. Cold start
  L.push('## 2. Cold start (ms beyond an empty module)', '');
  L.push(
    `Fresh \`node\` process per sample, \`process.hrtime\` around \`await import()\`; median of ${m.quick ? 3 : 10}, ` +
      `targets interleaved, minus the median of an empty module (${fmt(r.start.baselineMs)} ms). Minimal browser globals ` +
      'and Node\'s lazily loaded `fetch`/`Response` are set up before timing. "Node package": the module Node ' +
      'resolves, import + first construction (`new TokenKeeper`, `new Keycloak`, `new UserManager`, `new Auth0Client`; ' +
      'oauth4webapi has nothing to construct). "Browser bundle": import of the §1 bundle; tokenkeeper\'s bundle fetches its ' +
      '`.wasm` from disk and compiles it with `instantiateStreaming`.',
    '',
  );
  const st = r.start.ms;
  table(
    ['library', 'Node package', 'browser bundle', 'tokenkeeper ÷ this (package / bundle)'],
    [
      ['**tokenkeeper**', ms(st['package:tokenkeeper']), ms(st['bundle:tokenkeeper']), ''],
      ...PEERS.map((p) => [
        p,
        ms(st[`package:${p}`]),
        ms(st[`bundle:${p}`]),
        `${ratio(st['package:tokenkeeper'], st[`package:${p}`])} / ${ratio(st['bundle:tokenkeeper'], st[`bundle:${p}`])}`,
      ]),
    ],
  );

  // 3. Cached lookup
  L.push('## 3. Cached valid-token lookup (ns per call)', '');
  L.push(
    'Awaited in a loop, median of the runs. tokenkeeper: `await keeper.accessToken()` after a login (the token is held ' +
      'on the JS side). keycloak-js: `await kc.updateToken(30); kc.token` after `init({ token, refreshToken })` (its ' +
      'forced refresh answered in memory). @auth0/auth0-spa-js: `getTokenSilently()` with its in-memory cache filled ' +
      'the way its redirect callback fills it. oidc-client-ts: `await getUser()` + `expired` check (in-memory user ' +
      'store). Floors: a plain in-memory record.',
    '',
  );
  const c = r.runtime.cached;
  table(
    ['implementation', 'ns/call', 'tokenkeeper ÷ this'],
    ['tokenkeeper', 'keycloak-js', '@auth0/auth0-spa-js', 'oidc-client-ts', 'floor: async in-memory check', 'floor: sync in-memory check'].map((k) => [
      k === 'tokenkeeper' ? '**tokenkeeper**' : k,
      fmt(c[k]),
      k === 'tokenkeeper' ? '' : ratio(c.tokenkeeper, c[k]),
    ]),
  );

  // 4. Token request
  L.push('## 4. Token-request overhead (client_credentials, HTTP Basic)', '');
  const q = r.request.inMemory.us;
  L.push(
    `In memory: the client's fetch returns a fresh \`Response\` with ${r.request.inMemory.responseBytes} bytes of token JSON ` +
      '(a JWT access token) per call; CPU only. tokenkeeper: `keeper.login()` (the client_credentials grant, with its ' +
      'storage write, events and timeout); oauth4webapi: `clientCredentialsGrantRequest` + ' +
      '`processClientCredentialsResponse`; raw fetch: form POST with Basic + `res.json()`. keycloak-js, ' +
      'oidc-client-ts and @auth0/auth0-spa-js have no client_credentials grant (browser libraries).',
    '',
  );
  table(
    ['client (in memory)', 'µs/call', '÷ raw fetch', 'tokenkeeper ÷ this'],
    ['tokenkeeper', 'oauth4webapi', 'raw fetch', 'floor: fake fetch + res.json() only'].map((k) => [
      k === 'tokenkeeper' ? '**tokenkeeper**' : k,
      fmt(q[k]),
      ratio(q[k], q['raw fetch']),
      k === 'tokenkeeper' ? '' : ratio(q.tokenkeeper, q[k]),
    ]),
  );
  if (r.request.loopback) {
    const l = r.request.loopback;
    L.push(
      `Over loopback: the devserver's TNCO-style \`/tnco/oauth/token\` (debug build, its own process), Node's fetch, ` +
        `sequential requests, ${l.requestsPerClient} per client after 100 warm-up requests each, interleaved request by ` +
        'request (one of each client in turn, the order alternating) so that the load of the shared machine weighs on all ' +
        'alike; median and p99 per client.',
      '',
    );
    table(
      ['client (loopback)', 'median µs', 'p99 µs', 'median ÷ raw fetch', 'tokenkeeper ÷ this'],
      ['tokenkeeper', 'oauth4webapi', 'raw fetch'].map((k) => [
        k === 'tokenkeeper' ? '**tokenkeeper**' : k,
        fmt(l.medianUs[k]),
        fmt(l.p99Us[k]),
        ratio(l.medianUs[k], l.medianUs['raw fetch']),
        k === 'tokenkeeper' ? '' : ratio(l.medianUs.tokenkeeper, l.medianUs[k]),
      ]),
    );
  }

  // 5. Concurrency
  L.push('## 5. 1000 concurrent callers at expiry: refresh requests sent', '');
  L.push(
    'The held token is made expired, then 1000 callers ask for a token at once; the in-memory token endpoint counts ' +
      'requests. tokenkeeper: injected `now` moved past `expiresAt`, `accessToken()`. keycloak-js: `timeSkew` moved, ' +
      '`updateToken(30)`. @auth0/auth0-spa-js: `nowProvider` moved, `getTokenSilently()` (refresh-token grant; the SDK ' +
      'serialises through `navigator.locks`, shimmed in process). oidc-client-ts: an expired stored user, each caller ' +
      '`getUser()` then `signinSilent()` (refresh-token grant).',
    '',
  );
  const cc = r.runtime.concurrency;
  table(
    ['library', 'requests', 'distinct tokens handed out'],
    ['tokenkeeper', 'keycloak-js', '@auth0/auth0-spa-js', 'oidc-client-ts', 'oauth4webapi'].map((k) => [
      k === 'tokenkeeper' ? '**tokenkeeper**' : k,
      cc[k].requests ?? '–',
      cc[k].error ? `error: ${cc[k].error}` : cc[k].note ?? cc[k].distinct,
    ]),
  );

  // 6. Decode
  L.push('## 6. JWT claims decode (ns per call)', '');
  L.push(
    `A ${r.runtime.decode.tokenBytes}-byte RS256-shaped JWT with 12 claims, unverified. tokenkeeper has no standalone ` +
      'decode function. "First read per token" is what a new token costs: the wasm state (claims decoded from the ' +
      'token, serialised, `JSON.parse`d); `keeper.state` caches that until the next change, so later reads are the ' +
      'second row. Ratios are of the first row.',
    '',
  );
  const d = r.runtime.decode.ns;
  const ourKey = 'tokenkeeper, first read per token (KeeperCore state)';
  table(
    ['implementation', 'ns/call', 'tokenkeeper ÷ this'],
    Object.keys(d).map((k) => [k === ourKey ? `**${k}**` : k, fmt(d[k]), k.startsWith('tokenkeeper') ? '' : ratio(d[ourKey], d[k])]),
  );
  // 7. Browser start-up
  L.push('## 7. Start-up in a browser (ms beyond an empty page)', '');
  const b = r.browser;
  if (!b || b.skipped) {
    L.push(`Not measured in this run: ${b?.skipped ?? 'no browser figures'}.`, '');
  } else {
    const t = b.conditions.throttled;
    const nets = {
      loopback: 'loopback',
      throttled: `loopback with DevTools network emulation (+${t.latency} ms per request, ${fmt((t.downloadThroughput * 8) / 1e6)} Mbit/s down, ${fmt((t.uploadThroughput * 8) / 1e6)} Mbit/s up)`,
    };
    L.push(
      `One page per library (\`bench/browser/*.html\`), built by Vite ${b.vite} (defaults; tokenkeeper is the package's ` +
        'browser entry, whose top-level await fetches and compiles the `.wasm`), served gzipped from a static server on ' +
        `127.0.0.1 (\`application/wasm\`), opened in headless Chromium ${b.chromium}: a fresh browser context (empty HTTP ` +
        `cache) per sample, every page on both networks interleaved with the order alternating, ${b.samples} samples each ` +
        'after a warm-up round. Each page imports its library, constructs one client (`new TokenKeeper` for an oauth2 ' +
        'profile, `new UserManager`, `new Keycloak`, `new Auth0Client`; providers on a loopback port where nothing ' +
        'listens) and records `performance.now()` (ms since navigation started) as "ready". Figures are "ready" minus the ' +
        'median "ready" of the empty page (a module script that records the same) on the same network. Requests any page ' +
        `sent to the provider port: ${b.providerRequests}. The preload page is the tokenkeeper page with ` +
        '`<link rel="modulepreload" href="/assets/tokenkeeper-….js">` and ' +
        '`<link rel="preload" href="/assets/tokenkeeper_bg-….wasm" as="fetch" type="application/wasm" crossorigin>` ' +
        'before its title.',
      '',
    );
    const label = {
      tokenkeeper: '**tokenkeeper**',
      'tokenkeeper-preload': 'tokenkeeper, preload page',
      'auth0-spa-js': '@auth0/auth0-spa-js',
    };
    for (const [n, title] of Object.entries(nets)) {
      const v = b.networks[n];
      L.push(`${n === 'loopback' ? 'Loopback' : `Throttled, ${title}`}: the empty page is ready at ${fmt(v.emptyMs)} ms (p90 ${fmt(v.emptyP90)} ms).`, '');
      const ours = v.ready.tokenkeeper.median;
      table(
        ['page', 'median', 'p90', 'tokenkeeper − this (median)', 'tokenkeeper ÷ this (median)'],
        Object.entries(v.ready).map(([k, x]) => [
          label[k] ?? k,
          ms(x.median),
          ms(x.p90),
          k === 'tokenkeeper' ? '' : fmt(ours - x.median),
          k === 'tokenkeeper' ? '' : ratio(ours, x.median),
        ]),
      );
    }
    L.push(
      'tokenkeeper\'s waterfall, medians in ms since navigation started (Resource Timing of the entry script and the ' +
        '`.wasm`; `performance.now()` around the constructions). ".wasm requests" counts Resource Timing entries (1: the ' +
        'compile used the preloaded response).',
      '',
    );
    const w = (n, p, key) => b.networks[n].waterfall[p][key];
    const wrow = (name, key, f = fmt) => [
      name,
      ...['loopback', 'throttled'].flatMap((n) => [f(w(n, 'tokenkeeper', key)), f(w(n, 'tokenkeeper-preload', key))]),
    ];
    table(
      ['figure', 'loopback', 'loopback, preload', 'throttled', 'throttled, preload'],
      [
        wrow('entry script responseEnd', 'jsEnd'),
        wrow('`.wasm` request startTime', 'wasmStart'),
        wrow('`.wasm` responseEnd', 'wasmEnd'),
        wrow('ready (first client constructed)', 'ready'),
        wrow('first `new TokenKeeper` (ms)', 'firstConstructMs'),
        wrow('second `new TokenKeeper` (ms)', 'secondConstructMs'),
        wrow('.wasm requests', 'wasmRequests', String),
      ],
    );
  }

  L.push('Re-run with `cargo xtask bench`; raw figures are in the run\'s `results.json` under the target directory.', '');
  return L.join('\n');
}

/** A horizontal bar chart of tokenkeeper ÷ peer ratios on a log2 scale centred on 1. */
function svg(rows) {
  const W = 760;
  const rowH = 22;
  const top = 48;
  const left = 300;
  const right = 60;
  const H = top + rows.length * rowH + 40;
  const span = 7; // 2^-7 … 2^7
  const x = (v) => left + ((Math.max(-span, Math.min(span, Math.log2(v))) + span) / (2 * span)) * (W - left - right);
  const esc = (t) => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">tokenkeeper ÷ peer (log scale; left of 1x: tokenkeeper smaller or faster)</text>`,
  ];
  for (let e = -span; e <= span; e += 1) {
    const gx = x(2 ** e);
    out.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${H - 34}" stroke="${e === 0 ? '#333' : '#e5e5e5'}"/>`);
    if (e % 2 === 1 || e === 0) {
      const label = e >= 0 ? `${2 ** e}x` : `1/${2 ** -e}`;
      out.push(`<text x="${gx}" y="${H - 20}" text-anchor="middle" fill="#555">${label}</text>`);
    }
  }
  rows.forEach(([metric, peer, v], i) => {
    const y = top + i * rowH;
    const x1 = x(1);
    const x2 = x(v);
    const good = v <= 1;
    out.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(metric)} vs ${esc(peer)}</text>`);
    out.push(
      `<rect x="${Math.min(x1, x2)}" y="${y + 3}" width="${Math.max(1, Math.abs(x2 - x1))}" height="${rowH - 8}" fill="${good ? '#2e7d32' : '#c62828'}"/>`,
    );
    out.push(
      `<text x="${good ? x2 - 4 : x2 + 4}" y="${y + 14}" text-anchor="${good ? 'end' : 'start'}" fill="#222">${fmt(v)}x</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}

writeFileSync(join(OUT, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(OUT, 'bench.md'), markdown(results));
writeFileSync(join(OUT, 'bench.svg'), svg(keyRatios(results)));
step(`wrote ${join(OUT, 'bench.md')} and bench.svg`);
