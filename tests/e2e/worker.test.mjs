// tokenkeeper/worker in headless Chromium against the devserver's Keycloak
// realm (the page is tests/e2e/worker/): the keeper runs in a SharedWorker
// or a dedicated Worker and the page drives it through WorkerKeeper.
//
// For both modes: a redirect login (authorization code + PKCE through the
// devserver's login form) whose pending state survives the navigation in
// the sealed IndexedDB store, keeper.fetch of userinfo, a refresh the page
// hears of, a logout; and a script in the page that reads everything it can
// reach (Web Storage, every IndexedDB record, every global, the keeper)
// without finding a refresh token. The refresh tokens to look for are the
// ones the devserver sent, read by a browser-wide CDP interception of the
// token endpoint (the devserver's log and admin API never show a token).
// Not through the worker's own target: DevTools attached to a SharedWorker
// keeps it past a navigation of its last tab, and the worker restarted then
// waits for the debugger, which no page would see.
// SharedWorker: three tabs on one keeper, one refresh request per rotation
// for all of them. Dedicated Worker: the session outlives the worker (a
// reload, a crash). Without workers: the in-page fallback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, shot, startDemoServer } from './support/demo.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

let server;
let browser;
/** The browser-wide CDP session: token responses, targets. */
let cdp;
/** Every token endpoint response Chromium received, from any page or worker. */
const wire = [];
/** Pages still open, closed at the end. */
const pages = new Set();

before(async () => {
  // Keycloak refresh-token rotation on: a refresh token used twice (two
  // keepers refreshing the same session) is refused and ends the session.
  server = await startDemoServer(['--kc-rotation', 'on'], { www: join(root, 'tests', 'e2e', 'worker') });
  browser = await launch();
  cdp = await browser.context.browser().newBrowserCDPSession();
  cdp.on('Fetch.requestPaused', async (e) => {
    try {
      const { body, base64Encoded } = await cdp.send('Fetch.getResponseBody', { requestId: e.requestId });
      wire.push({
        at: Date.now(),
        status: e.responseStatusCode,
        // The target that sent it: a SharedWorker's own id, else the page's frame.
        frameId: e.frameId,
        body: base64Encoded ? Buffer.from(body, 'base64').toString() : body,
      });
    } catch (err) {
      wire.push({ at: Date.now(), error: String(err) });
    } finally {
      await cdp.send('Fetch.continueResponse', { requestId: e.requestId }).catch(() => undefined);
    }
  });
  await cdp.send('Fetch.enable', {
    patterns: [{ urlPattern: '*/realms/tokenkeeper/protocol/openid-connect/token', requestStage: 'Response' }],
  });
});

after(async () => {
  for (const p of pages) await p.close().catch(() => undefined);
  await cdp?.send('Fetch.disable').catch(() => undefined);
  await browser?.close();
  await server?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A count of the stats (`map[key]`, 0 when absent). */
const n = (map, key) => map?.[key] ?? 0;
const realm = () => `${server.url}/realms/tokenkeeper/protocol/openid-connect`;

/** The tokens of every successful token response so far. */
function tokens() {
  const out = { refresh: [], access: [] };
  for (const w of wire) {
    assert.equal(w.error, undefined, `reading a token response: ${w.error}`);
    if (w.status !== 200) continue;
    const body = JSON.parse(w.body);
    if (body.refresh_token) out.refresh.push(body.refresh_token);
    if (body.access_token) out.access.push(body.access_token);
  }
  return out;
}

/** Resolves once the page's keeper is made (the page shows nothing). */
const ready = (page) => page.waitForSelector('body[data-ready="true"]', { state: 'attached' });

/** A new tab on the test page with these query parameters, ready; `init` runs before its scripts. */
async function open(params, { init } = {}) {
  const page = await browser.context.newPage();
  pages.add(page);
  page.once('close', () => pages.delete(page));
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e));
  if (init) await page.addInitScript(init);
  await page.goto(`${server.url}/demo/?${new URLSearchParams(params)}`);
  await ready(page);
  return page;
}

/** `window.wk[name](...args)` in the page, as `{ ok, value }` or the failure. */
const attempt = (page, name, ...args) => page.evaluate(([n, a]) => window.wk[n](...a), [name, args]);

/** `window.wk[name](...args)`; fails with its error unless it succeeded. */
async function call(page, name, ...args) {
  const r = await attempt(page, name, ...args);
  assert.ok(r.ok, `${name}: ${r.name} ${r.code}: ${r.message}`);
  return r.value;
}

const events = (page, type) =>
  page.evaluate((t) => window.wk.events().filter((e) => !t || e.type === t), type);
const state = async (page) => JSON.parse(await page.evaluate(() => window.wk.state()));

/** The keeper's dedicated workers in this page (Playwright sees those; not SharedWorkers). */
const keeperWorkers = (page) => page.workers().filter((w) => w.url().endsWith('/pkg/keeper-worker.js'));

/** The SharedWorkers running keeper-worker.js, as CDP targets. */
async function sharedWorkers() {
  const { targetInfos } = await cdp.send('Target.getTargets');
  return targetInfos.filter((t) => t.type === 'shared_worker' && t.url.endsWith('/pkg/keeper-worker.js'));
}

/** The one SharedWorker running keeper-worker.js, once those of closed tabs are gone (within 5 s). */
async function oneSharedWorker() {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = await sharedWorkers();
    if (found.length === 1) return found[0];
    assert.ok(Date.now() < deadline, `${found.length} SharedWorkers run keeper-worker.js, not one`);
    await sleep(100);
  }
}

/**
 * loginWithRedirect, the devserver's login form, back to the page with the
 * code, handleRedirect. The page is gone meanwhile (a dedicated worker with
 * it), so the pending login must come back from IndexedDB.
 */
async function loginByRedirect(page) {
  await Promise.all([
    page.waitForURL(/\/realms\/tokenkeeper\/protocol\/openid-connect\/auth\?/),
    page.evaluate(() => void window.wk.loginWithRedirect()),
  ]);
  const sent = new URL(page.url()).searchParams;
  assert.equal(sent.get('code_challenge_method'), 'S256');
  await page.fill('input[name="username"]', 'demo');
  await page.fill('input[name="password"]', 'demo-password');
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.pathname === '/demo/' && url.searchParams.has('code'));
  await ready(page);
  const sub = await call(page, 'handleRedirect');
  assert.match(sub, /^[\w-]+$/, 'the ID token was verified');
  assert.equal(await page.evaluate(() => window.wk.status()), 'active');
  assert.ok(!new URL(page.url()).searchParams.has('code'), 'the code is removed from the address bar');
}

/** A refresh with `token` sent by the test itself: the server's answer. */
async function refreshDirectly(token) {
  const res = await fetch(`${realm()}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: 'tokenkeeper-demo' }),
  });
  return { status: res.status, body: await res.json() };
}

// ---- the hostile script ---------------------------------------------------

/**
 * Runs in the page as an injected script would: reads Web Storage, every
 * record of every IndexedDB database and store, every global (its String
 * and JSON, and one level of its properties) and the keeper (own
 * properties, getters, `state`, JSON); ArrayBuffers and typed arrays as
 * UTF-8 and UTF-16 text, Blobs as text, CryptoKeys by their fields and, when
 * extractable, their JWK. Resolves to `[where, text]` pairs; the test
 * searches them.
 */
async function hostileScan() {
  const found = [];
  const MAX = 200_000;
  const add = (where, text) => {
    if (text !== undefined && text !== null && text !== '') found.push([where, String(text).slice(0, MAX)]);
  };
  const tryText = (f) => {
    try {
      return f();
    } catch {
      return undefined;
    }
  };
  const bytesText = (view) => {
    const u8 = view instanceof ArrayBuffer ? new Uint8Array(view) : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    return `${new TextDecoder('utf-8').decode(u8)}\n${new TextDecoder('utf-16le').decode(u8.slice(0, u8.length & ~1))}`;
  };
  // A stored value as text, deeply (records are data: no getters run).
  async function dump(value, depth = 0, seen = new WeakSet()) {
    if (value === null || typeof value !== 'object') return String(value);
    if (seen.has(value) || depth > 10) return '';
    seen.add(value);
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return bytesText(value);
    if (value instanceof Blob) return value.text();
    if (value instanceof CryptoKey) {
      const fields = JSON.stringify({ type: value.type, extractable: value.extractable, algorithm: value.algorithm, usages: value.usages });
      if (!value.extractable) return fields;
      const jwk = await crypto.subtle.exportKey('jwk', value).catch(() => null);
      return `${fields} ${JSON.stringify(jwk)}`;
    }
    if (value instanceof Date) return value.toISOString();
    const parts = [];
    const entries = value instanceof Map ? [...value] : value instanceof Set ? [...value].map((v, i) => [i, v]) : Object.entries(value);
    for (const [k, v] of entries) parts.push(`${String(k)}: ${await dump(v, depth + 1, seen)}`);
    return `{${parts.join(', ')}}`;
  }
  const request = (req) =>
    new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });

  for (const [name, s] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]]) {
    for (let i = 0; i < s.length; i += 1) add(`${name}[${s.key(i)}]`, `${s.key(i)}=${s.getItem(s.key(i))}`);
  }

  const databases = await indexedDB.databases();
  add('indexedDB.databases()', JSON.stringify(databases));
  for (const { name } of databases) {
    // No version: opens what is there and creates nothing.
    const db = await request(indexedDB.open(name));
    for (const store of db.objectStoreNames) {
      const tx = db.transaction(store, 'readonly');
      const keys = await request(tx.objectStore(store).getAllKeys());
      const values = await request(tx.objectStore(store).getAll());
      keys.forEach((k, i) => add(`indexedDB ${name}/${store}[${String(k)}]`, `${String(k)}=`));
      for (let i = 0; i < values.length; i += 1) {
        add(`indexedDB ${name}/${store}[${String(keys[i])}]`, `${String(keys[i])}=${await dump(values[i])}`);
      }
    }
    db.close();
  }

  for (const name of Object.getOwnPropertyNames(window)) {
    if (name === 'hostileScan') continue;
    const value = tryText(() => window[name]);
    add(`window.${name} (String)`, tryText(() => String(value)));
    add(`window.${name} (JSON)`, tryText(() => JSON.stringify(value)));
    if (value && typeof value === 'object' && value !== window) {
      for (const key of tryText(() => Object.getOwnPropertyNames(value)) ?? []) {
        const inner = tryText(() => value[key]);
        add(`window.${name}.${key}`, tryText(() => String(inner)));
        add(`window.${name}.${key} (JSON)`, tryText(() => JSON.stringify(inner)));
      }
    }
  }
  add('document.cookie', document.cookie);
  add('document (HTML)', document.documentElement.outerHTML);
  add('location', location.href);
  add('history.state', tryText(() => JSON.stringify(history.state)));
  add('performance entries', JSON.stringify(performance.getEntries().map((e) => e.name)));

  const { keeper } = window;
  if (keeper) {
    for (const key of Reflect.ownKeys(keeper)) add(`keeper[${String(key)}]`, await dump(tryText(() => keeper[key])));
    let proto = Object.getPrototypeOf(keeper);
    while (proto && proto !== Object.prototype) {
      for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
        if (d.get) add(`keeper.${key}`, await dump(tryText(() => keeper[key])));
      }
      proto = Object.getPrototypeOf(proto);
    }
    add('keeper.state (JSON)', JSON.stringify(keeper.state));
    add('keeper (JSON)', tryText(() => JSON.stringify(keeper)));
    add('keeper (String)', String(keeper));
  }
  add("the page's events", JSON.stringify(window.wk?.events?.() ?? []));
  return found;
}

/** What of `secrets` (a Map of value → name) the scan found, as "name in where". */
function hits(found, secrets) {
  const out = [];
  for (const [where, text] of found) {
    for (const [value, what] of secrets) if (text.includes(value)) out.push(`${what} in ${where}`);
  }
  return out;
}

/** Every refresh token the devserver sent so far, whole and its signature alone. */
function refreshSecrets() {
  const secrets = new Map();
  tokens().refresh.forEach((t, i) => {
    secrets.set(t, `refresh token #${i + 1}`);
    secrets.set(t.split('.')[2], `the signature of refresh token #${i + 1}`);
  });
  return secrets;
}

// ---- tests ----------------------------------------------------------------

test("the scan finds a token planted in each place it reads (the check can fail)", async () => {
  await server.reset();
  const page = await open({ mode: 'shared', key: 'planted', lazy: '1' });
  try {
    await call(page, 'make');
    const planted = 'planted.eyJ0eXAiOiJSZWZyZXNoIn0.c2lnbmF0dXJl';
    await page.evaluate(async (t) => {
      localStorage.setItem('a', JSON.stringify({ refresh_token: t }));
      sessionStorage.setItem('b', t);
      window.someGlobal = { nested: { deeper: t } };
      window.keeper.leaked = t;
      await new Promise((resolve, reject) => {
        const open = indexedDB.open('planted-db', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('s');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('s', 'readwrite');
          const s = tx.objectStore('s');
          s.put({ deep: [{ token: t }] }, 'object');
          s.put(new TextEncoder().encode(`x${t}x`).buffer, 'buffer');
          s.put(new Uint8Array([...new TextEncoder().encode(t)]), 'bytes');
          s.put(new Blob([t]), 'blob');
          tx.oncomplete = () => {
            open.result.close();
            resolve();
          };
        };
      });
    }, planted);
    const found = await page.evaluate(hostileScan);
    const seen = hits(found, new Map([[planted, 'the planted token']]));
    for (const where of [
      'localStorage[a]',
      'sessionStorage[b]',
      'indexedDB planted-db/s[object]',
      'indexedDB planted-db/s[buffer]',
      'indexedDB planted-db/s[bytes]',
      'indexedDB planted-db/s[blob]',
      'window.someGlobal (JSON)',
      'keeper[leaked]',
      'keeper (JSON)',
    ]) {
      assert.ok(seen.includes(`the planted token in ${where}`), `found in ${where}: ${seen.join('; ')}`);
    }
    await page.evaluate(() => indexedDB.deleteDatabase('planted-db'));
  } finally {
    await page.close();
  }
});

/** Per mode, the logged-in tab the next tests use. */
const logged = {};

for (const mode of ['shared', 'dedicated']) {
  test(`${mode}: the password grant in the worker needs allowConfidentialInBrowser, as in a page`, async () => {
    await server.reset();
    const refused = await open({ mode, key: `guard-${mode}` });
    const allowed = await open({ mode, key: `guard-${mode}`, password: '1', storage: 'memory' });
    try {
      assert.equal(await refused.evaluate(() => window.wk.where()), mode);
      const r = await attempt(refused, 'login');
      assert.equal(r.ok, false);
      assert.equal(r.code, 'AUTH_CONFIG');
      assert.match(r.message, /allowConfidentialInBrowser/);
      assert.equal((await server.stats()).requests['kc.token'] ?? 0, 0, 'nothing was sent');
      await call(allowed, 'login');
      assert.equal((await call(allowed, 'userinfo')).status, 200);
      await call(allowed, 'logout');
      assert.equal((await server.stats()).logins.kc, 1);
    } finally {
      await refused.close();
      await allowed.close();
    }
  });

  test(`${mode}: redirect login into the worker, keeper.fetch of userinfo, a refresh the page hears of`, async (t) => {
    await server.reset();
    const wired = wire.length;
    const page = await open({ mode });
    try {
      assert.equal(await page.evaluate(() => window.wk.error ?? null), null);
      assert.equal(await page.evaluate(() => window.wk.where()), mode);
      assert.equal(await call(page, 'restore'), false);
      await loginByRedirect(page);
      assert.equal((await events(page, 'login')).length, 1, 'the page heard of the login');

      // The keeper runs where asked, and it made the token requests.
      if (mode === 'shared') {
        const worker = await oneSharedWorker();
        assert.ok(wire.length > wired);
        for (const w of wire.slice(wired)) assert.equal(w.frameId, worker.targetId, 'the token requests came from the SharedWorker');
      } else {
        assert.equal(keeperWorkers(page).length, 1, 'one dedicated Worker runs keeper-worker.js');
      }

      const info = await call(page, 'userinfo');
      assert.equal(info.status, 200);
      assert.equal(JSON.parse(info.body).preferred_username, 'demo');

      const before = await state(page);
      await call(page, 'refresh');
      const refreshed = await events(page, 'refreshed');
      assert.equal(refreshed.length, 1, 'the page heard of the refresh');
      assert.deepEqual(JSON.parse(refreshed[0].detail), { rotated: true });
      const after = await state(page);
      assert.equal(after.status, 'active');
      assert.ok(after.expiresAt >= before.expiresAt);
      assert.equal((await call(page, 'userinfo')).status, 200);

      const stats = await server.stats();
      assert.equal(stats.code_exchanges, 1);
      assert.equal(stats.refreshes.kc, 1);
      assert.equal(stats.protected_calls.ok, 2);
      assert.equal(stats.refresh_rejections.total, 0);
      assert.ok(tokens().refresh.length >= 2, 'the login and the refresh were read off the wire');
      assert.deepEqual(page.errors, []);
      logged[mode] = page;
    } catch (e) {
      await shot(page, `worker-${mode}-login-failure`).catch(() => undefined);
      t.diagnostic(JSON.stringify(await page.evaluate(() => window.wk?.events()).catch(() => null)));
      await page.close();
      throw e;
    }
  });

  test(`${mode}: a script in the page finds no refresh token (Web Storage, every IndexedDB record, every global, the keeper)`, async (t) => {
    const page = logged[mode];
    assert.ok(page, 'logged in');
    const secrets = refreshSecrets();
    assert.ok(secrets.size >= 4, 'the refresh tokens of the login and the refresh');
    const found = await page.evaluate(hostileScan);

    // The scan read the real places: the sealed session in IndexedDB, the
    // keeper and its state.
    const storageKey = await page.evaluate(() => window.wk.storageKey);
    const sealed = found.filter(([where]) => where.startsWith('indexedDB tokenkeeper-worker/sessions['));
    assert.ok(sealed.some(([where]) => where.includes(storageKey)), `the sealed session (${sealed.map(([w]) => w).join(', ')})`);
    assert.ok(sealed.some(([, text]) => text.startsWith('#seal=') && text.includes('"extractable":false')));
    assert.ok(found.some(([where, text]) => where === 'keeper.state' && text.includes('preferred_username')));
    assert.ok(found.some(([where]) => where === 'window.keeper (String)'));
    assert.ok(found.length > 500, `${found.length} places read`);

    assert.deepEqual(hits(found, secrets), [], 'no refresh token within the page’s reach');
    const access = new Map(tokens().access.map((a, i) => [a, `access token #${i + 1}`]));
    t.diagnostic(`${found.length} places read; access tokens found: ${hits(found, access).join('; ') || 'none'}`);

    // What the sealing does not stop: a script in the origin may use the
    // kept (non-extractable) key to open the sealed record.
    const opened = await page.evaluate(async (key) => {
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open('tokenkeeper-worker');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const get = (k) =>
        new Promise((resolve) => {
          const req = db.transaction('sessions').objectStore('sessions').get(k);
          req.onsuccess = () => resolve(req.result);
        });
      const seal = await get('#seal');
      const record = await get(key);
      db.close();
      if (!seal || !record?.iv) return null;
      const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: record.iv }, seal, record.data).catch(() => null);
      return plain && new TextDecoder().decode(plain);
    }, storageKey);
    t.diagnostic(
      `the kept key opens the sealed record from the page: ${opened ? (hits([['', opened]], secrets).length ? 'yes, refresh token inside' : 'yes') : 'no'}`,
    );
    assert.deepEqual(page.errors, []);
  });

  test(`${mode}: logout: loggedOut in the page with its event, the session gone from IndexedDB and at the server`, async () => {
    const page = logged[mode];
    assert.ok(page, 'logged in');
    try {
      const last = tokens().refresh.at(-1);
      const storageKey = await page.evaluate(() => window.wk.storageKey);
      await call(page, 'logout');
      assert.equal((await state(page)).status, 'loggedOut');
      assert.equal((await events(page, 'logout')).length, 1, 'the page heard of the logout');
      const kept = await page.evaluate(hostileScan);
      assert.deepEqual(
        kept.filter(([where]) => where.startsWith('indexedDB tokenkeeper-worker/sessions[') && where.includes(storageKey)),
        [],
        'nothing kept under the storage key',
      );
      // Revoked at the server: its refresh token no longer refreshes.
      const stats = await server.stats();
      assert.equal(stats.revocations, 1);
      const direct = await refreshDirectly(last);
      assert.equal(direct.status, 400);
      assert.equal(direct.body.error, 'invalid_grant');
      // A new tab (a new worker, for a dedicated one) finds no session.
      const other = await open({ mode });
      assert.equal(await call(other, 'restore'), false);
      await other.close();
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
    }
  });
}

test('shared: three tabs on one keeper: a login in one is active in all; refreshes at once and 2-second tokens make one refresh request per rotation, heard by every tab', async (t) => {
  await server.reset();
  const tabs = [];
  for (let i = 0; i < 3; i += 1) tabs.push(await open({ mode: 'shared', key: 'three' }));
  const counts = (type) => Promise.all(tabs.map(async (p) => (await events(p, type)).length));
  try {
    for (const p of tabs) assert.equal(await call(p, 'restore'), false);
    await oneSharedWorker();

    // Tab 0 leaves for the login form and comes back; the worker lives on
    // with tabs 1 and 2, which hear of the login.
    await loginByRedirect(tabs[0]);
    for (const p of tabs.slice(1)) {
      await p.waitForFunction(() => window.wk.status() === 'active', null, { timeout: 5_000 });
      assert.equal((await events(p, 'login')).length, 1);
      assert.equal(await call(p, 'restore'), true);
    }
    assert.equal((await call(tabs[2], 'userinfo')).status, 200, 'a tab that never logged in calls the API');

    // refresh() in the three tabs at the same moment, while the refresh
    // request is slow: one request, every tab told.
    const before = await server.stats();
    const heard = await counts('refreshed');
    await server.fault({ match: 'kc.token', grant: 'refresh_token', kind: 'delay', delay_ms: 1_000 });
    const at = Date.now() + 300;
    const results = await Promise.all(
      tabs.map((p) =>
        p.evaluate(async (when) => {
          await new Promise((r) => setTimeout(r, when - Date.now()));
          return window.wk.refresh();
        }, at),
      ),
    );
    for (const r of results) assert.ok(r.ok, `${r.code}: ${r.message}`);
    const after = await server.stats();
    const now = await counts('refreshed');
    t.diagnostic(`refresh() ×3: ${n(after.refreshes, 'kc') - n(before.refreshes, 'kc')} refresh, events ${now.map((n, i) => n - heard[i])}`);
    assert.equal(after.faults_applied.delay, 1);
    assert.equal(n(after.requests, 'kc.token') - n(before.requests, 'kc.token'), 1, 'one token request for three refresh() calls');
    assert.equal(n(after.refreshes, 'kc') - n(before.refreshes, 'kc'), 1);
    assert.deepEqual(now.map((n, i) => n - heard[i]), [1, 1, 1], 'every tab heard of the refresh');

    // Forced expiry: 2-second tokens, refreshed by the keeper 1 s ahead.
    const start = await server.stats();
    const startHeard = await counts('refreshed');
    await server.config({ access_ttl: 2 });
    await call(tabs[1], 'refresh');
    const deadline = Date.now() + 30_000;
    while ((await events(tabs[0], 'refreshed')).length - startHeard[0] < 6) {
      assert.ok(Date.now() < deadline, 'six rotations within 30 s');
      await sleep(100);
    }
    await server.config({ access_ttl: 30 });
    // The next rotation brings a 30-second token; then nothing is due.
    await Promise.all(
      tabs.map((p) =>
        p.waitForFunction(() => JSON.parse(window.wk.state()).expiresAt - Date.now() > 10_000, null, { timeout: 10_000 }),
      ),
    );
    await sleep(1_500);
    const end = await server.stats();
    const endHeard = await counts('refreshed');
    const refreshes = n(end.refreshes, 'kc') - n(start.refreshes, 'kc');
    const requests = n(end.requests, 'kc.token') - n(start.requests, 'kc.token');
    const told = endHeard.map((n, i) => n - startHeard[i]);
    t.diagnostic(`2-second tokens: ${refreshes} refreshes, ${requests} token requests, refreshed events per tab ${told}`);
    assert.ok(refreshes >= 7, `${refreshes} rotations`);
    assert.equal(requests, refreshes, 'every token request was a successful refresh');
    assert.deepEqual(told, [refreshes, refreshes, refreshes], 'one refresh per rotation, every tab told of each');
    assert.equal(end.reuse_detections.total, 0);
    assert.equal(end.refresh_rejections.total, 0);
    for (const p of tabs) {
      assert.deepEqual(await events(p, 'refreshfailed'), []);
      assert.deepEqual(await events(p, 'sessionended'), []);
      assert.equal((await call(p, 'userinfo')).status, 200);
      assert.deepEqual(p.errors, []);
    }
  } finally {
    await server.config({ access_ttl: 30 });
    for (const p of tabs) await p.close();
  }
});

test('dedicated: the session outlives the worker: after a reload restore() is true and keeper.fetch works; a crashed worker is replaced and restores it', async (t) => {
  await server.reset();
  const page = await open({ mode: 'dedicated', key: 'revive' });
  try {
    await loginByRedirect(page);
    assert.equal((await call(page, 'userinfo')).status, 200);
    const { sid } = (await state(page)).claims;

    // A reload ends the page's worker; the new one restores from IndexedDB.
    const [first] = keeperWorkers(page);
    const gone = new Promise((r) => first.once('close', r));
    await page.reload();
    await ready(page);
    await gone;
    assert.equal(await call(page, 'restore'), true);
    assert.equal((await state(page)).claims.sid, sid, 'the same session');
    assert.equal((await call(page, 'userinfo')).status, 200);

    // A worker that fails (an uncaught error): the call waiting on it
    // fails as transient, a new worker restores the session unasked.
    await server.fault({ match: 'kc.userinfo', kind: 'delay', delay_ms: 3_000 });
    const pending = attempt(page, 'userinfo');
    await sleep(300);
    const [second] = keeperWorkers(page);
    const replaced = new Promise((r) => second.once('close', r));
    const restoredBefore = (await events(page, 'restored')).length;
    await second.evaluate(() => {
      setTimeout(() => {
        throw new Error('keeper worker crash (test)');
      });
    });
    await replaced;
    const failed = await pending;
    assert.equal(failed.ok, false);
    assert.equal(failed.code, 'AUTH_WORKER_FAILED');
    assert.equal(failed.transient, true);
    await page.waitForFunction((n) => window.wk.events().filter((e) => e.type === 'restored').length > n, restoredBefore, {
      timeout: 5_000,
    });
    assert.equal(keeperWorkers(page).length, 1);
    assert.notEqual(keeperWorkers(page)[0], second);
    assert.equal(await page.evaluate(() => window.wk.status()), 'active');
    assert.equal((await call(page, 'userinfo')).status, 200);

    const stats = await server.stats();
    assert.equal(stats.code_exchanges, 1, 'no new login');
    assert.equal(stats.refresh_rejections.total, 0);
    // The worker's error is the WorkerKeeper's to handle (it prevents the
    // default report): nothing reaches the page as an uncaught error.
    assert.deepEqual(page.errors, []);
  } catch (e) {
    t.diagnostic(JSON.stringify(await page.evaluate(() => window.wk?.events()).catch(() => null)));
    throw e;
  } finally {
    await page.close();
  }
});

test('dedicated control: with storage "memory" the session dies with the worker (restore() false after a reload)', async () => {
  await server.reset();
  const page = await open({ mode: 'dedicated', key: 'revive-memory', storage: 'memory', password: '1' });
  try {
    await call(page, 'login');
    assert.equal((await call(page, 'userinfo')).status, 200);
    await page.reload();
    await ready(page);
    assert.equal(await call(page, 'restore'), false);
    assert.equal(await page.evaluate(() => window.wk.status()), 'loggedOut');
  } finally {
    await page.close();
  }
});

/** Deletes both worker constructors before the page's scripts run. */
const noWorkers = () => {
  delete window.SharedWorker;
  delete window.Worker;
};

test('fallback: without SharedWorker and Worker, new WorkerKeeper throws AUTH_WORKER_UNAVAILABLE; create(…, { fallback: "page" }) gives an in-page TokenKeeper that works', async () => {
  await server.reset();
  // Control: the same lazy page with workers makes a WorkerKeeper.
  const control = await open({ mode: 'shared', key: 'fallback', lazy: '1', password: '1', storage: 'memory' });
  await call(control, 'make', 'auto');
  assert.equal(await control.evaluate(() => window.wk.where()), 'shared');
  await control.close();

  const page = await open({ mode: 'shared', key: 'fallback', lazy: '1', password: '1', storage: 'memory' }, { init: noWorkers });
  try {
    assert.deepEqual(await page.evaluate(() => [typeof SharedWorker, typeof Worker]), ['undefined', 'undefined']);
    for (const mode of ['auto', 'shared', 'dedicated']) {
      const r = await attempt(page, 'make', mode);
      assert.equal(r.ok, false, mode);
      assert.equal(r.name, 'TokenKeeperError');
      assert.equal(r.code, 'AUTH_WORKER_UNAVAILABLE', `${mode}: ${r.message}`);
    }
    const sent = [];
    page.on('request', (req) => sent.push(new URL(req.url()).pathname));
    await call(page, 'fallback');
    assert.equal(await page.evaluate(() => window.wk.inPage()), true, 'a TokenKeeper of the package');
    assert.equal(await call(page, 'restore'), false);
    await call(page, 'login');
    assert.equal(await page.evaluate(() => window.wk.status()), 'active');
    assert.equal((await events(page, 'login')).length, 1);
    assert.equal((await call(page, 'userinfo')).status, 200);
    await call(page, 'refresh');
    assert.equal((await events(page, 'refreshed')).length, 1);
    assert.ok(sent.some((p) => p.endsWith('/openid-connect/token')), 'the page itself sent the token requests');
    assert.equal(page.workers().length, 0);
    await call(page, 'logout');
    assert.equal(await page.evaluate(() => window.wk.status()), 'loggedOut');
    const stats = await server.stats();
    assert.equal(stats.logins.kc, 1);
    assert.equal(stats.refreshes.kc, 1);
    assert.deepEqual(page.errors, []);
  } finally {
    await page.close();
  }
});

test('fallback with the worker’s lasting storage ("indexeddb") gives a TokenKeeper too, keeping the session in sessionStorage', async () => {
  const page = await open({ mode: 'shared', key: 'fallback-idb', lazy: '1', password: '1' }, { init: noWorkers });
  try {
    await call(page, 'fallback');
    await call(page, 'login');
    assert.equal((await call(page, 'userinfo')).status, 200);
  } finally {
    await page.close();
  }
});
