// The Service Worker page. Query parameters:
//   key      storage key (default `sw-e2e`)
//   expose   "1": exposeAccessToken, so that accessToken() answers
// The keeper runs in ./sw.js (mode "service"), which intercepts this
// origin: the page's plain fetch() calls to userinfo get the token there.
// window.sw runs the keeper's calls and plain fetches, and keeps every event
// the keeper dispatched; window.keeper is the keeper itself.
import { WorkerKeeper } from '/pkg/worker.js';

const q = new URLSearchParams(location.search);
const realm = `${location.origin}/realms/tokenkeeper`;
const userinfoUrl = `${realm}/protocol/openid-connect/userinfo`;
/** The query parameters the redirect comes back with. */
const kept = new URLSearchParams([...q].filter(([k]) => k === 'key' || k === 'expose'));

const options = {
  profile: {
    kind: 'oauth2',
    issuer: realm,
    clientId: 'tokenkeeper-demo',
    scope: 'openid profile',
    redirectUri: `${location.origin}/demo/${kept.size ? `?${kept}` : ''}`,
  },
  storage: 'indexeddb',
  storageKey: q.get('key') ?? 'sw-e2e',
  allowedOrigins: [location.origin],
  // The test refreshes on demand, right after the login.
  refresh: { minIntervalMs: 0 },
};

const keeper = new WorkerKeeper(options, {
  mode: 'service',
  workerUrl: '/demo/sw.js',
  intercept: [location.origin],
  discover: true,
  exposeAccessToken: q.get('expose') === '1',
});
window.keeper = keeper;

// Every event the keeper dispatched, with the state it reported then and
// its detail as text (errors with their code and message).
const events = [];
for (const type of [
  'login', 'loginfailed', 'refreshing', 'refreshed', 'refreshfailed', 'sessionended',
  'restored', 'logout', 'revoked', 'revocationfailed', 'storageerror',
]) {
  keeper.addEventListener(type, (e) => {
    const detail = JSON.stringify(e.detail ?? null, (_, v) =>
      v instanceof Error ? { name: v.name, code: v.code, message: v.message } : v,
    );
    events.push({ type, status: keeper.state.status, detail });
  });
}

/** A thrown value as plain data. */
const failure = (e) => ({ ok: false, name: e?.name, code: e?.code, message: String(e?.message ?? e) });

/** Runs `f`; resolves to `{ ok: true, value }` or the failure. */
async function outcome(f) {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    return failure(e);
  }
}

/** A response as plain data. */
const answer = async (res) => ({ status: res.status, body: await res.text() });

window.sw = {
  userinfoUrl,
  loginWithRedirect: () => outcome(() => keeper.loginWithRedirect()),
  handleRedirect: () => outcome(async () => (await keeper.handleRedirect()).idTokenClaims?.sub ?? null),
  restore: () => outcome(() => keeper.restore()),
  refresh: () => outcome(async () => void (await keeper.refresh())),
  logout: () => outcome(async () => void (await keeper.logout())),
  accessToken: () => outcome(() => keeper.accessToken()),
  /** keeper.fetch: the call goes to the Service Worker by message. */
  userinfo: () => outcome(async () => answer(await keeper.fetch(userinfoUrl))),
  /** The page's own fetch, no token in it: the Service Worker intercepts it. */
  plain: () => outcome(async () => answer(await fetch(userinfoUrl))),
  controlled: () => navigator.serviceWorker.controller !== null,
  status: () => keeper.state.status,
  state: () => JSON.stringify(keeper.state),
  events: () => events,
};

// Ready once the Service Worker controls the page, so that plain fetches
// go through it.
await navigator.serviceWorker.ready;
if (!navigator.serviceWorker.controller) {
  await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
}
document.body.dataset.ready = 'true';
