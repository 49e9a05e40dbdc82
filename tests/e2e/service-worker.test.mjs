// tokenkeeper/worker in mode "service" in headless Chromium against the
// devserver (the page is tests/e2e/service-worker/, its Service Worker
// sw.js there, so that its scope /demo/ covers the page). The keeper runs
// in the Service Worker, which intercepts the page's origin: a redirect
// login with storage "indexeddb", then the page's own plain fetch() to
// userinfo gets the token added there; refreshes (asked for, and after the
// server saw the token expire) happen there and reach the page as events;
// logout leaves plain fetches without a token. A script injected in the
// page searches everything the page can reach for the real tokens, which
// the test reads from the wire: the token endpoint's answers to the Service
// Worker (paused by CDP's Fetch domain on the browser session) and the
// headers it sent (playwright reports a Service Worker's requests in
// Chromium). The Service Worker is stopped through CDP: the restarted one
// makes its keeper again and restores the session from IndexedDB (a
// control deletes the kept session first: then no token).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, shot, startDemoServer } from './support/demo.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

let server;
let browser;
/** Every request to the realm, from the page or the Service Worker (`wire()`). */
const sent = [];
/** Every answer of the token endpoint to the browser, in order: `{ grant, status, json }`. */
const issued = [];

before(async () => {
  // Lifetimes long enough that no timer refreshes during the run: the
  // test expires the access token by moving the server clock.
  server = await startDemoServer(['--access-ttl', '300', '--refresh-ttl', '1200'], {
    www: join(root, 'tests', 'e2e', 'service-worker'),
  });
  browser = await launch();
  browser.context.on('request', (req) => {
    if (!new URL(req.url()).pathname.startsWith('/realms/')) return;
    sent.push({
      req,
      worker: req.serviceWorker() !== null,
      headers: req.allHeaders().catch(() => ({})),
      response: req.response().catch(() => null),
    });
  });
  // The token endpoint's answers, read while Chromium holds them (the Fetch
  // domain on the browser's own CDP session pauses every target's requests,
  // the Service Worker's included); a Service Worker's response body is not
  // always there to read once it is finished.
  const cdp = await browser.context.browser().newBrowserCDPSession();
  cdp.on('Fetch.requestPaused', async ({ requestId, request, responseStatusCode }) => {
    const grant = new URLSearchParams(request.postData ?? '').get('grant_type');
    try {
      const { body, base64Encoded } = await cdp.send('Fetch.getResponseBody', { requestId });
      const text = base64Encoded ? Buffer.from(body, 'base64').toString() : body;
      issued.push({ grant, status: responseStatusCode, json: JSON.parse(text) });
    } catch (e) {
      issued.push({ grant, status: responseStatusCode, json: null, error: String(e) });
    } finally {
      await cdp.send('Fetch.continueResponse', { requestId }).catch(() => undefined);
    }
  });
  await cdp.send('Fetch.enable', {
    patterns: [{ urlPattern: '*/realms/tokenkeeper/protocol/openid-connect/token', requestStage: 'Response' }],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const realm = () => `${server.url}/realms/tokenkeeper/protocol/openid-connect`;

/**
 * The realm requests sent since `from` (an index into them), oldest first:
 * who sent it (`worker`), the headers Chromium sent, the status.
 */
async function wire(from = 0) {
  return Promise.all(
    sent.slice(from).map(async ({ req, worker, headers, response }) => {
      const h = await headers;
      const res = await response;
      return {
        path: new URL(req.url()).pathname,
        method: req.method(),
        body: req.postData(),
        worker,
        authorization: h.authorization ?? null,
        status: res?.status() ?? null,
        fromServiceWorker: res?.fromServiceWorker() ?? false,
      };
    }),
  );
}
const isToken = (e) => e.path.endsWith('/openid-connect/token');
const isUserinfo = (e) => e.path.endsWith('/openid-connect/userinfo');
const bearer = (e) => e.authorization?.match(/^Bearer (.+)$/)?.[1] ?? null;

/** Resolves once the page is controlled by the Service Worker (the page then sets `body[data-ready]`). */
const ready = (page) => page.waitForSelector('body[data-ready="true"]', { state: 'attached', timeout: 30_000 });

/** A new tab on the test page with these query parameters. */
async function open(params = {}) {
  const page = await browser.context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  await page.goto(`${server.url}/demo/?${new URLSearchParams(params)}`);
  await ready(page);
  return page;
}

/** Runs `window.sw[name]()` in the page: `{ ok, value }` or `{ ok: false, code, message }`. */
const run = (page, name) => page.evaluate((n) => window.sw[n](), name);

/** Runs `window.sw[name]()`; fails with its error unless it succeeded. */
async function call(page, name) {
  const r = await run(page, name);
  assert.ok(r.ok, `${name}: ${r.name} ${r.code}: ${r.message}`);
  return r.value;
}

/** The events the page's keeper dispatched, of `type`. */
const events = async (page, type) => (await page.evaluate(() => window.sw.events())).filter((e) => e.type === type);

/** Waits until the page has seen `n` events of `type`. */
const waitEvents = (page, type, n) =>
  page.waitForFunction(([t, k]) => window.sw.events().filter((e) => e.type === t).length >= k, [type, n], {
    timeout: 30_000,
  });

/** loginWithRedirect, the devserver's login form, back to the page with the code, handleRedirect. */
async function loginByRedirect(page) {
  await Promise.all([
    page.waitForURL(/\/realms\/tokenkeeper\/protocol\/openid-connect\/auth\?/),
    page.evaluate(() => void window.sw.loginWithRedirect()),
  ]);
  await page.fill('input[name="username"]', 'demo');
  await page.fill('input[name="password"]', 'demo-password');
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.pathname === '/demo/' && url.searchParams.has('code'));
  await ready(page);
  await call(page, 'handleRedirect');
  assert.equal(await page.evaluate(() => window.sw.status()), 'active');
}

/**
 * The Service Worker's versions as CDP reports them (`ServiceWorker`
 * domain on the page's session): `stop()` stops every worker and resolves
 * once each version reports `stopped`; `running()` says whether one runs.
 */
async function workers(page) {
  const cdp = await browser.context.newCDPSession(page);
  const versions = new Map();
  const seen = [];
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions: list }) => {
    for (const v of list) {
      versions.set(v.versionId, v);
      seen.push(`${v.versionId}:${v.status}:${v.runningStatus}`);
    }
  });
  await cdp.send('ServiceWorker.enable');
  const activated = () => [...versions.values()].filter((v) => v.status === 'activated');
  const settle = async (test, what) => {
    for (let i = 0; i < 300 && !test(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(test(), `${what}; CDP saw ${seen.join(' ')}`);
  };
  await settle(() => activated().length === 1, 'one activated version');
  return {
    seen,
    running: () => activated().some((v) => v.runningStatus === 'running'),
    stop: async () => {
      await cdp.send('ServiceWorker.stopAllWorkers');
      await settle(() => activated().every((v) => v.runningStatus === 'stopped'), 'the worker stopped');
    },
    detach: () => cdp.detach(),
  };
}

// ---- the hostile script -----------------------------------------------------
// Injected into the page: reads everything a script of the page can reach
// without knowing the package (Web Storage, cookies, every IndexedDB
// database and store, Cache Storage, the DOM, the globals the page added
// and everything under them, the keeper object: own properties, getters,
// JSON) and answers every string found as `[where, text]`; binary data
// (ArrayBuffers, typed arrays, Blobs) as Latin-1 and as UTF-16 text.
async function hostile() {
  const places = [];
  const add = (where, text) => places.push([where, String(text)]);
  const binary = (where, bytes) => {
    let latin1 = '';
    for (const b of bytes) latin1 += String.fromCharCode(b);
    add(`${where} (bytes as Latin-1)`, latin1);
    add(`${where} (bytes as UTF-16)`, new TextDecoder('utf-16le').decode(bytes.subarray(0, bytes.length & ~1)));
  };
  const seen = new WeakSet();
  async function walk(where, v, depth = 0) {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') return add(where, v);
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return add(where, v);
    if (typeof v !== 'object' && typeof v !== 'function') return;
    if (seen.has(v) || depth > 8) return;
    seen.add(v);
    if (v instanceof ArrayBuffer) return binary(where, new Uint8Array(v));
    if (ArrayBuffer.isView(v)) return binary(where, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    if (v instanceof Blob) return binary(where, new Uint8Array(await v.arrayBuffer()));
    if (v instanceof Node || v === window || v === document) return;
    if (typeof CryptoKey === 'function' && v instanceof CryptoKey) {
      const { type, extractable, algorithm, usages } = v;
      return add(where, JSON.stringify({ type, extractable, algorithm, usages }));
    }
    try {
      add(`${where} (JSON)`, JSON.stringify(v));
    } catch {
      // Cycles, BigInts: the walk below reads it all anyway.
    }
    if (v instanceof Map) {
      for (const [k, x] of v) {
        await walk(`${where}.key`, k, depth + 1);
        await walk(`${where}.get(${String(k)})`, x, depth + 1);
      }
    }
    if (v instanceof Set) for (const x of v) await walk(`${where}.item`, x, depth + 1);
    for (const k of Reflect.ownKeys(v)) {
      let x;
      try {
        x = v[k];
      } catch {
        continue;
      }
      await walk(`${where}.${String(k)}`, x, depth + 1);
    }
    // Getters on its prototypes (a class's `state`, `mode`).
    const stop = [Object.prototype, Function.prototype, EventTarget.prototype];
    for (let proto = Object.getPrototypeOf(v); proto && !stop.includes(proto); proto = Object.getPrototypeOf(proto)) {
      for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
        if (!d.get) continue;
        try {
          await walk(`${where}.${k}`, v[k], depth + 1);
        } catch {
          // A getter that throws for this object.
        }
      }
    }
  }

  for (const [name, s] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]]) {
    for (let i = 0; i < s.length; i++) add(`${name}[${s.key(i)}]`, `${s.key(i)}=${s.getItem(s.key(i))}`);
  }
  add('document.cookie', document.cookie);
  add('location', location.href);
  add('window.name', window.name);
  await walk('history.state', history.state);
  add('the DOM', document.documentElement.outerHTML);

  const databases = [];
  for (const { name } of await indexedDB.databases()) {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open(name);
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    for (const store of db.objectStoreNames) {
      const records = await new Promise((resolve, reject) => {
        const out = [];
        const cursor = db.transaction(store, 'readonly').objectStore(store).openCursor();
        cursor.onsuccess = () => {
          const c = cursor.result;
          if (!c) return resolve(out);
          out.push([c.key, c.value]);
          c.continue();
        };
        cursor.onerror = () => reject(cursor.error);
      });
      databases.push({ db: name, store, keys: records.map(([k]) => String(k)) });
      for (const [key, value] of records) {
        await walk(`indexedDB ${name}/${store} key`, key);
        await walk(`indexedDB ${name}/${store}[${String(key)}]`, value);
      }
    }
    db.close();
  }

  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const req of await cache.keys()) {
      add(`cache ${name} request`, req.url);
      const res = await cache.match(req);
      if (res) binary(`cache ${name}[${req.url}]`, new Uint8Array(await res.arrayBuffer()));
    }
  }

  // The globals the page added: those a fresh window does not have.
  const frame = document.createElement('iframe');
  document.body.append(frame);
  const builtin = new Set(Object.getOwnPropertyNames(frame.contentWindow));
  frame.remove();
  const globals = Object.getOwnPropertyNames(window).filter((k) => !builtin.has(k));
  for (const k of globals) await walk(`window.${k}`, window[k]);

  // The keeper itself, as its API shows it, and what it told the page.
  const keeper = window.keeper;
  add('keeper own keys', JSON.stringify(Reflect.ownKeys(keeper).map(String)));
  add('JSON.stringify(keeper)', JSON.stringify(keeper));
  add('JSON.stringify(keeper.state)', JSON.stringify(keeper.state));
  await walk('keeper', keeper);
  await walk('the events', window.sw.events());
  return { places, globals, databases, keeperStatus: keeper.state.status };
}

// ---- the tests, in order, on one session ------------------------------------

let tab;

test('redirect login in the Service Worker; a plain fetch() of the page to userinfo gets the token there; keeper.fetch works; accessToken() is refused', async (t) => {
  await server.reset();
  tab = await open();
  try {
    assert.equal(await tab.evaluate(() => window.sw.controlled()), true, 'the Service Worker controls the page');
    // Before the login the Service Worker has no token to add.
    const before = await call(tab, 'plain');
    assert.equal(before.status, 401);
    assert.equal((await server.stats()).protected_calls.missing, 1);

    const start = sent.length;
    const from = issued.length;
    await loginByRedirect(tab);
    const login = await wire(start);
    const exchange = login.filter(isToken);
    assert.equal(exchange.length, 1);
    assert.equal(exchange[0].worker, true, 'the code exchange is sent by the Service Worker');
    assert.equal(exchange[0].status, 200);
    assert.match(exchange[0].body, /grant_type=authorization_code/);
    const tokens = issued.slice(from);
    assert.deepEqual(tokens.map((e) => [e.grant, e.status]), [['authorization_code', 200]]);
    assert.ok(tokens[0].json.access_token && tokens[0].json.refresh_token, 'the token response is read');
    assert.ok(
      login.filter((e) => !e.worker).every((e) => !isToken(e)),
      'the page sent no token request',
    );

    // The page's own fetch, no token in it; the Service Worker adds it.
    const mark = sent.length;
    const plain = await call(tab, 'plain');
    assert.equal(plain.status, 200, plain.body);
    assert.equal(JSON.parse(plain.body).preferred_username, 'demo');
    const calls = (await wire(mark)).filter(isUserinfo);
    const fromPage = calls.filter((e) => !e.worker);
    const fromWorker = calls.filter((e) => e.worker);
    assert.equal(fromPage.length, 1);
    assert.equal(fromPage[0].authorization, null, 'the page sent no Authorization');
    assert.equal(fromPage[0].fromServiceWorker, true, 'the Service Worker answered the page');
    assert.equal(fromWorker.length, 1);
    assert.equal(bearer(fromWorker[0]), tokens[0].json.access_token, 'the Service Worker sent the access token');
    assert.equal(fromWorker[0].status, 200);
    // The devserver counted a call with a valid token (no token: "missing").
    let stats = await server.stats();
    assert.deepEqual(
      { ok: stats.protected_calls.ok, missing: stats.protected_calls.missing },
      { ok: 1, missing: 1 },
    );
    assert.equal(stats.log.filter((e) => e.endpoint === 'kc.userinfo').at(-1).status, 200);

    const viaKeeper = await call(tab, 'userinfo');
    assert.equal(viaKeeper.status, 200);
    stats = await server.stats();
    assert.equal(stats.protected_calls.ok, 2);

    const token = await run(tab, 'accessToken');
    assert.equal(token.ok, false, 'accessToken() is refused');
    assert.equal(token.code, 'AUTH_CONFIG');
    assert.match(token.message, /exposeAccessToken/);
    assert.equal(stats.logins.total, 1);
    assert.equal(stats.code_exchanges, 1);
    assert.deepEqual(tab.errors, []);
  } catch (e) {
    await shot(tab, 'service-worker-login-failure').catch(() => undefined);
    t.diagnostic(JSON.stringify(await tab.evaluate(() => window.sw?.events()).catch(() => null)));
    throw e;
  }
});

test('refreshes happen in the Service Worker: keeper.refresh(), and a plain fetch after the server saw the token expire; the page gets "refreshed"', async () => {
  assert.equal(await run(tab, 'status'), 'active', 'logged in');
  const start = sent.length;
  const from = issued.length;
  const before = (await events(tab, 'refreshed')).length;
  await call(tab, 'refresh');
  await waitEvents(tab, 'refreshed', before + 1);
  let stats = await server.stats();
  assert.equal(stats.refreshes.kc, 1);

  // Expired for the server (its clock 400 s ahead; the access token lives
  // 300 s, the refresh token 1200 s), not for the keeper: the plain fetch
  // is answered 401, and the Service Worker refreshes and retries.
  await server.config({ clock_offset: 400 });
  try {
    const plain = await call(tab, 'plain');
    assert.equal(plain.status, 200, plain.body);
  } finally {
    await server.config({ clock_offset: 0 });
  }
  await waitEvents(tab, 'refreshed', before + 2);
  stats = await server.stats();
  assert.equal(stats.refreshes.kc, 2);
  assert.equal(stats.protected_calls.expired, 1, 'the expired token was sent once');
  assert.equal(stats.refresh_rejections.total, 0);

  const w = await wire(start);
  const sentRefreshes = w.filter((e) => isToken(e) && /grant_type=refresh_token/.test(e.body));
  assert.equal(sentRefreshes.length, 2);
  assert.ok(sentRefreshes.every((e) => e.worker && e.status === 200), 'both refreshes sent by the Service Worker');
  const refreshes = issued.slice(from);
  assert.deepEqual(
    refreshes.map((e) => [e.grant, e.status]),
    [
      ['refresh_token', 200],
      ['refresh_token', 200],
    ],
  );
  assert.ok(w.filter((e) => !e.worker).every((e) => !isToken(e)), 'the page sent no token request');
  // Each refresh spends the refresh token the one before it got.
  assert.deepEqual(
    sentRefreshes.map((e) => new URLSearchParams(e.body).get('refresh_token')),
    [issued[from - 1].json.refresh_token, refreshes[0].json.refresh_token],
  );
  const api = w.filter((e) => isUserinfo(e) && e.worker);
  assert.deepEqual(
    api.map((e) => [e.status, bearer(e)]),
    [
      [401, refreshes[0].json.access_token],
      [200, refreshes[1].json.access_token],
    ],
    'the token of the first refresh, refused as expired, then the renewed one',
  );
  const last = (await events(tab, 'refreshed')).at(-1);
  assert.equal(last.status, 'active');
  assert.deepEqual(tab.errors, []);
});

test('a script injected in the page finds neither the refresh token nor the access token anywhere it can reach', async () => {
  assert.equal(await run(tab, 'status'), 'active', 'logged in');
  // The real tokens: every token response the Service Worker got, and every
  // token it sent.
  const w = await wire();
  const responses = issued.filter((e) => e.status === 200);
  const secrets = new Map();
  const add = (what, value) => {
    if (!value || secrets.has(value)) return;
    secrets.set(value, what);
    // A JWT's signature alone would betray a copy kept in pieces.
    const signature = value.split('.')[2];
    if (signature && signature.length >= 32) secrets.set(signature, `the signature of ${what}`);
  };
  for (const e of responses) {
    add('a refresh token', e.json.refresh_token);
    add('an access token', e.json.access_token);
  }
  for (const e of w.filter(isUserinfo)) add('an access token sent to userinfo', bearer(e));
  const refreshTokens = responses.map((e) => e.json.refresh_token);
  const accessTokens = responses.map((e) => e.json.access_token);
  assert.equal(new Set(refreshTokens).size, 3, 'the refresh tokens of the login and two refreshes are known');
  assert.equal(new Set(accessTokens).size, 3, 'so are the access tokens');

  const scan = await tab.evaluate(hostile);
  assert.equal(scan.keeperStatus, 'active');
  const where = scan.places.map(([w]) => w);
  // The scan reaches the kept session (sealed), the keepers' settings, the
  // keeper's state and the events.
  const sealed = where.find((p) =>
    /^indexedDB tokenkeeper-worker\/sessions\[[^#].*\]\.data \(bytes as Latin-1\)$/.test(p),
  );
  assert.ok(sealed, `the sealed session in IndexedDB is read as bytes: ${JSON.stringify(scan.databases)}`);
  assert.ok(
    scan.places.some(
      ([p, text]) => p.startsWith('indexedDB tokenkeeper-worker/sessions[#keeper:') && text.includes('/realms/tokenkeeper'),
    ),
    'the kept keeper settings are read',
  );
  assert.ok(
    scan.places.some(([p, text]) => p === 'JSON.stringify(keeper.state)' && text.includes('"status":"active"')),
    "the keeper's state is read",
  );
  assert.ok(scan.globals.includes('keeper') && scan.globals.includes('sw'), `globals: ${scan.globals}`);
  assert.ok(where.some((p) => p.startsWith('the events')), 'the events are read');

  const found = [];
  for (const [place, text] of scan.places) {
    for (const [value, what] of secrets) if (text.includes(value)) found.push(`${what} in ${place}`);
  }
  assert.deepEqual(found, [], 'no token anywhere the page can reach');

  // The same scan finds copies planted where a leak would put them.
  const latest = { refresh: refreshTokens.at(-1), access: accessTokens.at(-1) };
  await tab.evaluate(async ({ refresh, access }) => {
    localStorage.setItem('planted', JSON.stringify({ access }));
    sessionStorage.setItem('planted', refresh);
    window.planted = { deep: [{ token: access }] };
    await new Promise((resolve, reject) => {
      const open = indexedDB.open('planted', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('s');
      open.onsuccess = () => {
        const tx = open.result.transaction('s', 'readwrite');
        tx.objectStore('s').put({ bytes: new TextEncoder().encode(refresh).buffer }, 'k');
        tx.oncomplete = () => {
          open.result.close();
          resolve();
        };
        tx.onerror = () => reject(tx.error);
      };
      open.onerror = () => reject(open.error);
    });
  }, latest);
  try {
    const planted = await tab.evaluate(hostile);
    const hits = (value) => planted.places.filter(([, text]) => text.includes(value)).map(([p]) => p);
    assert.ok(hits(latest.access).some((p) => p.startsWith('localStorage[planted]')), 'planted in localStorage');
    assert.ok(hits(latest.refresh).some((p) => p.startsWith('sessionStorage[planted]')), 'planted in sessionStorage');
    assert.ok(hits(latest.access).some((p) => p.startsWith('window.planted.deep.0.token')), 'planted in a global');
    assert.ok(
      hits(latest.refresh).some((p) => p === 'indexedDB planted/s[k].bytes (bytes as Latin-1)'),
      'planted in IndexedDB as an ArrayBuffer',
    );
  } finally {
    await tab.evaluate(async () => {
      localStorage.removeItem('planted');
      sessionStorage.removeItem('planted');
      delete window.planted;
      await new Promise((resolve) => {
        const del = indexedDB.deleteDatabase('planted');
        del.onsuccess = del.onerror = del.onblocked = () => resolve();
      });
    });
  }

  // The tokens searched for are real: the latest access token is accepted
  // by userinfo and the latest refresh token by the token endpoint.
  const info = await fetch(`${realm()}/userinfo`, { headers: { authorization: `Bearer ${latest.access}` } });
  assert.equal(info.status, 200);
  const renewed = await fetch(`${realm()}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: latest.refresh,
      client_id: 'tokenkeeper-demo',
    }),
  });
  assert.equal(renewed.status, 200);
  assert.deepEqual(tab.errors, []);
});

test('the Service Worker stopped (CDP): a plain fetch starts it again, and its keeper, made again, restored the session from IndexedDB', async () => {
  assert.equal(await run(tab, 'status'), 'active', 'logged in');
  const sw = await workers(tab);
  try {
    await sw.stop();
    assert.equal(sw.running(), false);
    const stats0 = await server.stats();
    const start = sent.length;
    const plain = await call(tab, 'plain');
    assert.equal(plain.status, 200, plain.body);
    assert.equal(sw.running(), true, 'the fetch started the worker again');
    const w = await wire(start);
    // The restarted worker read the issuer's discovery document again to
    // make its keeper; then it sent the kept token.
    assert.ok(
      w.some((e) => e.worker && e.path.endsWith('/.well-known/openid-configuration')),
      'the keeper is made again',
    );
    const api = w.filter((e) => isUserinfo(e) && e.worker);
    assert.equal(api.length, 1);
    assert.equal(api[0].status, 200);
    assert.equal(bearer(api[0]), issued.at(-1).json.access_token, 'the access token the worker had before the stop');
    const stats = await server.stats();
    assert.equal(stats.logins.total, stats0.logins.total, 'no new login');
    assert.equal(stats.refreshes.total, stats0.refreshes.total, 'no refresh: the kept access token');
    assert.equal(stats.protected_calls.ok, stats0.protected_calls.ok + 1);
    assert.equal(await run(tab, 'status'), 'active');
    assert.equal((await call(tab, 'userinfo')).status, 200, 'keeper.fetch through the new worker');
  } finally {
    await sw.detach();
  }
  assert.deepEqual(tab.errors, []);
});

test('logout in the Service Worker: state loggedOut, the page gets "logout", and a plain fetch afterwards has no token (401)', async () => {
  assert.equal(await run(tab, 'status'), 'active', 'logged in');
  const before = await server.stats();
  const start = sent.length;
  await call(tab, 'logout');
  assert.equal(await run(tab, 'status'), 'loggedOut');
  await waitEvents(tab, 'logout', 1);
  const plain = await call(tab, 'plain');
  assert.equal(plain.status, 401);
  const w = await wire(start);
  const api = w.filter(isUserinfo);
  assert.ok(api.every((e) => e.authorization === null), 'no Authorization on the wire');
  const stats = await server.stats();
  assert.equal(stats.protected_calls.missing, before.protected_calls.missing + 1);
  assert.equal(stats.protected_calls.ok, before.protected_calls.ok);
  assert.equal(stats.revocations, before.revocations + 1, 'the refresh token is revoked');
  const viaKeeper = await run(tab, 'userinfo');
  assert.equal(viaKeeper.ok, false, 'keeper.fetch has no token either');
  assert.equal(viaKeeper.code, 'AUTH_NO_SESSION', viaKeeper.message);
  assert.deepEqual(tab.errors, []);
});

test('control: with the kept session deleted from IndexedDB before the stop, the restarted worker has no token (401)', async () => {
  await loginByRedirect(tab);
  assert.equal((await call(tab, 'plain')).status, 200);
  // Every record but the sealing key and the keepers' settings.
  const deleted = await tab.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('tokenkeeper-worker');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('sessions', 'readwrite');
          const store = tx.objectStore('sessions');
          const keys = store.getAllKeys();
          const gone = [];
          keys.onsuccess = () => {
            for (const k of keys.result) {
              if (typeof k === 'string' && k.startsWith('#')) continue;
              gone.push(String(k));
              store.delete(k);
            }
          };
          tx.oncomplete = () => {
            open.result.close();
            resolve(gone);
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
  assert.ok(deleted.length >= 1, 'a kept session was deleted');
  const sw = await workers(tab);
  try {
    await sw.stop();
    const before = await server.stats();
    const plain = await call(tab, 'plain');
    assert.equal(plain.status, 401, 'nothing to restore: no token');
    assert.equal(sw.running(), true);
    const stats = await server.stats();
    assert.equal(stats.protected_calls.missing, before.protected_calls.missing + 1);
  } finally {
    await sw.detach();
  }
});

test('with exposeAccessToken (another keeper of the page) accessToken() answers the token the Service Worker sends', async () => {
  const page = await open({ key: 'sw-expose', expose: '1' });
  try {
    await loginByRedirect(page);
    const token = await call(page, 'accessToken');
    const start = sent.length;
    assert.equal((await call(page, 'userinfo')).status, 200);
    const api = (await wire(start)).filter((e) => isUserinfo(e) && e.worker);
    assert.equal(bearer(api.at(-1)), token);
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
  }
});

test("a script of the origin that asks the Service Worker itself, with the keeper's options read from IndexedDB, cannot turn exposeAccessToken on", async () => {
  const page = await open({ key: 'sw-sticky' });
  try {
    await loginByRedirect(page);
    const asked = await page.evaluate(async () => {
      // What a hostile script can do: read the remembered keepers, then
      // send the worker the page's own kind of message, widened.
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open('tokenkeeper-worker');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const all = await new Promise((resolve, reject) => {
        const req = db.transaction('sessions').objectStore('sessions').getAll();
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      db.close();
      const mine = all.find((v) => v?.options?.storageKey === 'sw-sticky');
      const { port1, port2 } = new MessageChannel();
      const answer = new Promise((resolve) => (port1.onmessage = ({ data }) => resolve(data)));
      navigator.serviceWorker.controller.postMessage(
        {
          t: 'call',
          options: mine.options,
          discover: mine.discover,
          settings: { ...mine.settings, exposeAccessToken: true },
          method: 'accessToken',
          args: [],
        },
        [port2],
      );
      const data = await answer;
      return { found: Boolean(mine), t: data.t, code: data.error?.code, value: typeof data.value };
    });
    assert.deepEqual(asked, { found: true, t: 'failed', code: 'AUTH_CONFIG', value: 'undefined' });
    // The page's keeper is still active and its plain fetch still gets the token added.
    assert.equal((await call(page, 'plain')).status, 200);
  } finally {
    await page.close();
  }
});
