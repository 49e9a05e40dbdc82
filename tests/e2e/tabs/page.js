// One tab of the several-tabs test. Query parameters:
//   key      storage key (and lock name); `<key>.rotations` and `<key>.stop`
//            hold the shared rotation counter and the stop flag
//   target   stop every tab once this many rotations happened (0: never)
//   storage  "local" (default) or "adapter" (async get/set/delete over
//            IndexedDB, so changes travel by BroadcastChannel)
//   lockTimeoutMs
import { TokenKeeper } from '/pkg/index.js';

const q = new URLSearchParams(location.search);
const key = q.get('key') ?? 'tabs';
const target = Number(q.get('target') ?? 0);
const apiKey = 'lgdx-demo-api-key';

// The adapter keeps the session in IndexedDB, as an app's own store would
// (idb-keyval style). Not over localStorage: Chromium serves another tab's
// localStorage write to this tab a moment late, so a read right at the
// lock's grant may still return the refresh token the previous holder just
// spent. The keeper waits that out for `storage: 'local'` only; an adapter
// must read what another tab wrote before it released the lock, and
// IndexedDB does (every transaction goes to one backend, in order).
function idb(mode, run) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('tokenkeeper-tabs', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('kv');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction('kv', mode);
      const req = run(tx.objectStore('kv'));
      tx.oncomplete = () => {
        db.close();
        resolve(req.result);
      };
      tx.onerror = tx.onabort = () => {
        db.close();
        reject(tx.error);
      };
    };
  });
}

const adapter = {
  get: async (k) => (await idb('readonly', (s) => s.get(k))) ?? null,
  set: async (k, v) => void (await idb('readwrite', (s) => s.put(v, k))),
  delete: async (k) => void (await idb('readwrite', (s) => s.delete(k))),
};

const keeper = new TokenKeeper({
  profile: {
    kind: 'json',
    loginUrl: `${location.origin}/Identity/Auth/Login`,
    refreshUrl: `${location.origin}/Identity/Auth/Refresh`,
    headers: { 'X-API-Key': apiKey },
  },
  storage: q.get('storage') === 'adapter' ? adapter : 'local',
  storageKey: key,
  // 2-second tokens: refresh 1.2 s before the expiry, every tab at the same
  // moment (no jitter), so that all of them contend for the lock.
  refresh: { leadFraction: 1, minLeadMs: 1200, maxLeadMs: 1200, maxJitterMs: 0, minIntervalMs: 100 },
  lockTimeoutMs: Number(q.get('lockTimeoutMs') ?? 10000),
});

const log = [];
let rotations = 0;
let stopped = false;
const api = {};
const apiErrors = [];

function stop() {
  stopped = true;
  keeper.close();
}

for (const type of ['login', 'refreshing', 'refreshed', 'refreshfailed', 'sessionended', 'restored', 'logout', 'storageerror']) {
  keeper.addEventListener(type, (e) => {
    const d = e.detail ?? {};
    log.push({
      type,
      at: Date.now(),
      rotated: d.rotated,
      reason: d.reason,
      error: d.error?.code,
      expiresAt: keeper.state.expiresAt,
    });
    if (type === 'refreshed' && d.rotated) {
      // The `refreshed` event runs while this tab still holds the lock: the
      // shared counter is updated by one tab at a time.
      rotations += 1;
      const n = Number(localStorage.getItem(`${key}.rotations`) ?? 0) + 1;
      localStorage.setItem(`${key}.rotations`, String(n));
      if (target > 0 && n >= target) {
        localStorage.setItem(`${key}.stop`, '1');
        stop();
      }
    }
    if (type === 'sessionended' || type === 'logout') stopped = true;
  });
}

addEventListener('storage', (e) => {
  if (e.key === `${key}.stop` && e.newValue) stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function apiLoop(every) {
  while (!stopped) {
    try {
      const res = await keeper.fetch(`${location.origin}/Navigation/Realms`, { headers: { 'X-API-Key': apiKey } });
      api[res.status] = (api[res.status] ?? 0) + 1;
    } catch (e) {
      if (!stopped) apiErrors.push(e.code ?? String(e));
    }
    await sleep(every);
  }
}

window.tabs = {
  login: () => keeper.login({ username: 'demo', password: 'demo-password' }),
  restore: () => keeper.restore(),
  logout: async () => {
    const at = Date.now();
    await keeper.logout();
    return at;
  },
  startApi: (every = 50) => void apiLoop(every),
  report: () => ({ rotations, stopped, api, apiErrors, status: keeper.state.status, busy: keeper.state.busy, log }),
};
document.body.dataset.ready = 'true';
