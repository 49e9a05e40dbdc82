// One tab of the several-tabs test. Query parameters:
//   key      storage key (and lock name); `<key>.rotations` and `<key>.stop`
//            hold the shared rotation counter and the stop flag
//   target   stop every tab once this many rotations happened (0: never)
//   storage  "local" (default) or "adapter" (async get/set/delete over
//            localStorage, so changes travel by BroadcastChannel)
//   lockTimeoutMs
import { TokenKeeper } from '/pkg/index.js';

const q = new URLSearchParams(location.search);
const key = q.get('key') ?? 'tabs';
const target = Number(q.get('target') ?? 0);
const apiKey = 'lgdx-demo-api-key';

const adapter = {
  get: async (k) => localStorage.getItem(k),
  set: async (k, v) => localStorage.setItem(k, v),
  delete: async (k) => localStorage.removeItem(k),
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
