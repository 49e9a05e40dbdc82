// The worker that holds the keepers of `tokenkeeper/worker`: a SharedWorker
// (one keeper for every tab of the origin), a dedicated Worker (one per
// tab) or a Service Worker (one for the origin, which also adds the token
// to the page's own requests to the origins it is told to). Pages talk to
// it through `WorkerKeeper`; the refresh token and the DPoP key stay here,
// and only what the page asks for (a response, the state, events, the
// access token where allowed) goes back.
//
// Messages from a page: { t: 'open', id, options, discover } attaches the
// port to the keeper for those options (made on first use); { t: 'call',
// id, method, args } runs a method of it; { t: 'close' } detaches. Answers:
// { t: 'done', id, value } or { t: 'failed', id, error }; every event of the
// keeper goes to each attached port as { t: 'event', type, detail, state }.
// A Service Worker may be stopped between events, so there every message
// comes with a port of its own for the answer and names its keeper's
// options; events go to every client of the origin.
// The entry without top-level await (`tokenkeeper/init`): a Service Worker
// may not use it ("Top-level await is disallowed in service workers"), so
// the WebAssembly module is instantiated by `initialize()` before the first
// keeper is made.
import { TokenKeeper, initialize } from './init.js';
import { EVENTS } from './session.js';

/** Keepers by their options (as JSON): tabs with the same options share one. */
const keepers = new Map();

/** An error as plain data that crosses `postMessage` with its code and fields. */
function plainError(e) {
  if (!e || typeof e !== 'object') return { name: 'Error', message: String(e) };
  const out = { name: e.name, message: e.message };
  for (const k of ['code', 'status', 'error', 'error_description', 'transient', 'retryIn']) {
    if (e[k] !== undefined) out[k] = e[k];
  }
  return out;
}

/** A config error raised here, shaped as the keeper's own. */
function configError(message) {
  return Object.assign(new Error(message), { name: 'TokenKeeperError', code: 'AUTH_CONFIG', transient: false });
}

// ---- the session kept in IndexedDB (storage: "indexeddb") ---------------
// Sealed with AES-GCM under a non-extractable key kept beside it, so that a
// script scanning the origin's storage for tokens finds none. A script that
// runs in the origin can still use that key: see the README.

const DB = 'tokenkeeper-worker';
const STORE = 'sessions';

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

let database = null;
function db() {
  database ??= new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return database;
}

async function inStore(mode, run) {
  const store = (await db()).transaction(STORE, mode).objectStore(STORE);
  return request(run(store));
}

let sealKey = null;
/** The sealing key: made once, non-extractable, kept in the same store. */
function seal() {
  sealKey ??= (async () => {
    const found = await inStore('readonly', (s) => s.get('#seal'));
    if (found) return found;
    const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    try {
      await inStore('readwrite', (s) => s.add(key, '#seal'));
      return key;
    } catch {
      // Another worker kept its key first.
      return inStore('readonly', (s) => s.get('#seal'));
    }
  })();
  return sealKey;
}

/** A storage adapter `{ get, set, delete }` over the sealed store. */
const sealedStore = {
  async get(key) {
    const sealed = await inStore('readonly', (s) => s.get(key));
    if (!sealed) return null;
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: sealed.iv }, await seal(), sealed.data);
    return new TextDecoder().decode(plain);
  },
  async set(key, value) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await seal(), new TextEncoder().encode(value));
    await inStore('readwrite', (s) => s.put({ iv, data }, key));
  },
  async delete(key) {
    await inStore('readwrite', (s) => s.delete(key));
  },
};

// ---- keepers and ports ----------------------------------------------------

/** The keeper entry for `options`, made on first use. */
function keeperFor(options, discover) {
  const id = JSON.stringify([options, Boolean(discover)]);
  let entry = keepers.get(id);
  if (!entry) {
    const storage = options.storage ?? 'memory';
    if (storage !== 'memory' && storage !== 'indexeddb') {
      throw configError('"storage" must be "memory" or "indexeddb" in a worker');
    }
    const opts = { ...options, storage: storage === 'indexeddb' ? sealedStore : 'memory' };
    entry = { id, ports: new Set(), keeper: null };
    entry.ready = initialize().then(() => (discover ? TokenKeeper.discover(opts) : new TokenKeeper(opts))).then((keeper) => {
      entry.keeper = keeper;
      for (const type of EVENTS) {
        keeper.addEventListener(type, (e) => {
          const detail = e.detail && typeof e.detail === 'object' ? { ...e.detail } : e.detail ?? null;
          if (detail?.error) detail.error = plainError(detail.error);
          const message = { t: 'event', key: id, type, detail, state: keeper.state };
          for (const port of entry.ports) port.postMessage(message);
        });
      }
      return keeper;
    });
    entry.ready.catch(() => keepers.delete(id));
    keepers.set(id, entry);
  }
  return entry;
}

/** The methods a page may call, each given the keeper and the message's args. */
const METHODS = {
  restore: (k) => k.restore(),
  login: (k, [credentials]) => k.login(credentials),
  refresh: (k) => k.refresh(),
  logout: (k) => k.logout(),
  accessToken: (k, _args, entry) => {
    if (served.has(entry.id) && !served.get(entry.id).exposeAccessToken) {
      throw Object.assign(new Error('the access token stays in the service worker (exposeAccessToken is off)'), {
        name: 'TokenKeeperError', code: 'AUTH_CONFIG', transient: false,
      });
    }
    return k.accessToken();
  },
  state: (k) => k.state,
  authorizeUrl: (k, [params]) => k.authorizeUrl(params),
  handleRedirect: async (k, [url]) => {
    const { idTokenClaims } = await k.handleRedirect(url);
    return { idTokenClaims };
  },
  fetch: async (k, [req]) => {
    const res = await k.fetch(req.url, { method: req.method, headers: req.headers, body: req.body });
    const body = res.status === 204 || res.status === 304 ? null : await res.arrayBuffer();
    return { status: res.status, statusText: res.statusText, headers: [...res.headers], body };
  },
};

function connect(port) {
  let entry = null;
  port.onmessage = async ({ data }) => {
    const { t, id } = data ?? {};
    if (t === 'close') {
      entry?.ports.delete(port);
      return;
    }
    try {
      let value;
      if (t === 'open') {
        entry = keeperFor(data.options, data.discover);
        const keeper = await entry.ready;
        entry.ports.add(port);
        value = { state: keeper.state };
      } else if (t === 'call' && entry && Object.hasOwn(METHODS, data.method)) {
        const keeper = await entry.ready;
        value = await METHODS[data.method](keeper, data.args ?? [], entry);
        value = { value, state: keeper.state };
      } else {
        throw configError('unknown request');
      }
      const transfer = value?.value?.body instanceof ArrayBuffer ? [value.value.body] : [];
      port.postMessage({ t: 'done', id, ...value }, transfer);
    } catch (e) {
      port.postMessage({ t: 'failed', id, error: plainError(e), state: entry?.keeper?.state ?? null });
    }
  };
}

// ---- the Service Worker ---------------------------------------------------
// It may be stopped between events: every message comes with a port for its
// answer and names its keeper's options, which are kept (no secrets in
// them) in IndexedDB, so that a restarted worker makes its keepers again,
// each restoring its session, before it decides on a request.

/** Each keeper's Service Worker settings: `{ intercept: origins, exposeAccessToken }`. */
const served = new Map();

/** The keeper a page names, made (and restored) when new; its settings kept. */
async function serviceKeeper(options, discover, settings) {
  const entry = keeperFor(options, discover);
  const keeper = await entry.ready;
  if (!served.has(entry.id)) {
    // The first settings a keeper was given stay: a later message (from
    // any script of the origin) cannot widen `intercept` or turn on
    // `exposeAccessToken`.
    const kept = await inStore('readonly', (s) => s.get(`#keeper:${entry.id}`));
    if (kept?.settings) {
      served.set(entry.id, kept.settings);
    } else if (settings) {
      served.set(entry.id, settings);
      await inStore('readwrite', (s) => s.put({ options, discover, settings }, `#keeper:${entry.id}`));
    }
  }
  entry.restored ??= keeper.restore().catch(() => false);
  await entry.restored;
  if (!entry.broadcast) {
    entry.broadcast = true;
    entry.ports.add({
      postMessage: (message) =>
        self.clients.matchAll({ includeUncontrolled: true }).then((all) => all.forEach((c) => c.postMessage(message))),
    });
  }
  return entry;
}

/** Every keeper pages told this worker about, made again after a stop. */
let known = null;
function knownKeepers() {
  known ??= inStore('readonly', (s) => s.getAll())
    .then((all) => all.filter((v) => v?.options && v.settings))
    .then((configs) => Promise.all(configs.map((c) => serviceKeeper(c.options, c.discover, c.settings))))
    .catch(() => []);
  return known;
}

function serviceWorker() {
  self.addEventListener('install', () => self.skipWaiting());
  self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
  self.addEventListener('message', (event) => {
    const port = event.ports[0];
    const data = event.data ?? {};
    if (!port || data.t !== 'call') return;
    event.waitUntil(
      (async () => {
        let entry = null;
        try {
          entry = await serviceKeeper(data.options, data.discover, data.settings);
          known = null;
          if (data.method !== 'open' && !Object.hasOwn(METHODS, data.method)) throw configError('unknown request');
          const value = data.method === 'open' ? null : await METHODS[data.method](entry.keeper, data.args ?? [], entry);
          const transfer = value?.body instanceof ArrayBuffer ? [value.body] : [];
          port.postMessage({ t: 'done', value, state: entry.keeper.state }, transfer);
        } catch (e) {
          port.postMessage({ t: 'failed', error: plainError(e), state: entry?.keeper?.state ?? null });
        }
      })(),
    );
  });
  // The page's own requests to an origin a keeper intercepts get the token
  // (and a DPoP proof) here: the page never holds it.
  self.addEventListener('fetch', (event) => {
    const { request } = event;
    if (request.mode === 'navigate' || request.headers.has('authorization')) return;
    const origin = new URL(request.url).origin;
    const wanted = [...served.values()].some((s) => s.intercept?.includes(origin));
    if (served.size > 0 && !wanted) return;
    event.respondWith(
      (async () => {
        const entries = await knownKeepers();
        const entry = entries.find(
          (e) => served.get(e.id)?.intercept?.includes(origin) && e.keeper.state.status === 'active',
        );
        return entry ? entry.keeper.fetch(request) : fetch(request);
      })(),
    );
  });
}

if (typeof ServiceWorkerGlobalScope === 'function' && self instanceof ServiceWorkerGlobalScope) {
  serviceWorker();
} else if (typeof SharedWorkerGlobalScope === 'function' && self instanceof SharedWorkerGlobalScope) {
  self.onconnect = (e) => connect(e.ports[0]);
} else {
  connect(self);
}
