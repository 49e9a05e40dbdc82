// The worker page. Query parameters:
//   mode      "shared" (default) or "dedicated": where the keeper runs
//   key       storage key (default `worker-e2e-<mode>`)
//   storage   "indexeddb" (default) or "memory"
//   password  allowConfidentialInBrowser: true (the password grant)
//   lazy      no keeper at load: window.wk.make() or window.wk.fallback()
//             makes one
// window.wk runs the keeper's calls and keeps every event the page was
// told of; window.keeper is the keeper itself.
import { WorkerKeeper } from '/pkg/worker.js';

const q = new URLSearchParams(location.search);
const mode = q.get('mode') ?? 'shared';
const realm = `${location.origin}/realms/tokenkeeper`;
/** The query parameters the redirect comes back with. */
const kept = new URLSearchParams([...q].filter(([k]) => ['mode', 'key', 'storage', 'password'].includes(k)));

// Options a worker can receive: no functions. Every tab with the same query
// has the same options, so a SharedWorker gives them one keeper.
const options = {
  profile: {
    kind: 'oauth2',
    issuer: realm,
    clientId: 'tokenkeeper-demo',
    scope: 'openid profile',
    redirectUri: `${location.origin}/demo/${kept.size ? `?${kept}` : ''}`,
  },
  storage: q.get('storage') ?? 'indexeddb',
  storageKey: q.get('key') ?? `worker-e2e-${mode}`,
  // The test refreshes on demand, right after the login; ahead of expiry
  // the keeper refreshes 1 s before it, with no jitter (2-second tokens
  // rotate every second, 30-second ones only after 29 s).
  refresh: { minIntervalMs: 0, minLeadMs: 1000, maxLeadMs: 1000, maxJitterMs: 0 },
  ...(q.has('password') ? { allowConfidentialInBrowser: true } : {}),
};

const TYPES = [
  'login', 'loginfailed', 'refreshing', 'refreshed', 'refreshfailed', 'sessionended',
  'restored', 'logout', 'revoked', 'revocationfailed', 'storageerror',
];

// Every event the keeper dispatched here, with the state it reported then
// and its detail as text (errors with their code and message).
const events = [];
let keeper = null;

function attach(k) {
  keeper = k;
  window.keeper = k;
  for (const type of TYPES) {
    k.addEventListener(type, (e) => {
      const detail = JSON.stringify(e.detail ?? null, (_, v) =>
        v instanceof Error ? { name: v.name, code: v.code, message: v.message } : v,
      );
      events.push({ type, at: Date.now(), status: k.state.status, expiresAt: k.state.expiresAt, detail });
    });
  }
  return k;
}

/** A thrown value as plain data. */
const failure = (e) => ({ ok: false, name: e?.name, code: e?.code, transient: e?.transient, message: String(e?.message ?? e) });

/** Runs `f`; resolves to `{ ok: true, value }` or the failure. */
async function outcome(f) {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    return failure(e);
  }
}

window.wk = {
  mode,
  storageKey: options.storageKey,
  /** new WorkerKeeper(options, { mode, discover: true }); `workerMode` overrides the page's mode. */
  make: (workerMode = mode) => outcome(() => void attach(new WorkerKeeper(options, { mode: workerMode, discover: true }))),
  /** WorkerKeeper.create(options with `extra`, { mode, discover: true, fallback: 'page' }). */
  fallback: (extra = {}) =>
    outcome(async () => void attach(await WorkerKeeper.create({ ...options, ...extra }, { mode, discover: true, fallback: 'page' }))),
  restore: () => outcome(() => keeper.restore()),
  login: () => outcome(() => keeper.login({ username: 'demo', password: 'demo-password' })),
  loginWithRedirect: () => outcome(() => keeper.loginWithRedirect()),
  handleRedirect: () => outcome(async () => (await keeper.handleRedirect()).idTokenClaims?.sub ?? null),
  refresh: () => outcome(async () => void (await keeper.refresh())),
  logout: () => outcome(async () => void (await keeper.logout())),
  userinfo: () =>
    outcome(async () => {
      const res = await keeper.fetch(`${realm}/protocol/openid-connect/userinfo`);
      return { status: res.status, body: await res.text() };
    }),
  /** Where the keeper runs: "shared" or "dedicated" (undefined for an in-page TokenKeeper). */
  where: () => keeper?.mode,
  /** Whether the keeper is the package's in-page TokenKeeper. */
  inPage: async () => keeper instanceof (await import('/pkg/index.js')).TokenKeeper,
  status: () => keeper?.state.status ?? null,
  state: () => JSON.stringify(keeper?.state ?? null),
  events: () => events,
};

if (!q.has('lazy')) {
  const made = await window.wk.make();
  if (!made.ok) window.wk.error = made;
}
document.body.dataset.ready = 'true';
