// The DPoP page. Query parameters:
//   key      storage key (default `dpop-e2e`); the key pair is kept in
//            IndexedDB under `<key>.dpop`
//   storage  "local" (default), or "memory" (the key then lives as long as
//            the page)
// window.dpop runs the keeper's calls and reads what the page can reach:
// the keeper's events, Web Storage and the key pair kept in IndexedDB.
import { TokenKeeper } from '/pkg/index.js';

const q = new URLSearchParams(location.search);
const realm = `${location.origin}/realms/tokenkeeper`;
const storageKey = q.get('key') ?? 'dpop-e2e';
/** The query parameters the redirect comes back with. */
const kept = () => new URLSearchParams([...q].filter(([k]) => k === 'key' || k === 'storage'));

const keeper = await TokenKeeper.discover({
  profile: {
    kind: 'oauth2',
    issuer: realm,
    clientId: 'tokenkeeper-demo',
    scope: 'openid profile',
    // Back to this page with its key and storage (and nothing else) in the query.
    redirectUri: `${location.origin}/demo/${q.has('key') || q.has('storage') ? `?${kept()}` : ''}`,
  },
  dpop: true,
  storage: q.get('storage') ?? 'local',
  storageKey,
  // The test refreshes on demand, right after the login.
  refresh: { minIntervalMs: 0 },
});

// Every event the keeper dispatched, its detail as text (errors with their
// message, which JSON.stringify would drop).
const events = [];
for (const type of [
  'login', 'loginfailed', 'refreshing', 'refreshed', 'refreshfailed', 'sessionended',
  'restored', 'logout', 'revoked', 'revocationfailed', 'storageerror',
]) {
  keeper.addEventListener(type, (e) => {
    const detail = JSON.stringify(e.detail ?? null, (k, v) =>
      v instanceof Error ? { ...v, name: v.name, message: v.message } : v,
    );
    events.push({ type, detail });
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

/**
 * Runs `run(store)` on IndexedDB `tokenkeeper`/`dpop-keys`, where the
 * keeper keeps its pair; resolves to its request's result (undefined when
 * there is no such store).
 */
function keyStore(mode, run) {
  return new Promise((resolve, reject) => {
    // No version: opens what is there and creates nothing.
    const open = indexedDB.open('tokenkeeper');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains('dpop-keys')) {
        db.close();
        resolve(undefined);
        return;
      }
      const tx = db.transaction('dpop-keys', mode);
      const req = run(tx.objectStore('dpop-keys'));
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

const all = (s) => Object.fromEntries(Array.from({ length: s.length }, (_, i) => [s.key(i), s.getItem(s.key(i))]));

window.dpop = {
  storageKey,
  authorizeUrl: () => outcome(() => keeper.authorizeUrl()),
  loginWithRedirect: () => outcome(() => keeper.loginWithRedirect()),
  handleRedirect: () => outcome(async () => (await keeper.handleRedirect()).idTokenClaims?.sub ?? null),
  restore: () => outcome(() => keeper.restore()),
  refresh: () => outcome(async () => void (await keeper.refresh())),
  userinfo: () =>
    outcome(async () => {
      const res = await keeper.fetch(`${realm}/protocol/openid-connect/userinfo`);
      return { status: res.status, body: await res.text() };
    }),
  status: () => keeper.state.status,
  state: () => JSON.stringify(keeper.state),
  events: () => events,
  webStorage: () => ({ local: all(localStorage), session: all(sessionStorage) }),
  /** The kept pair as the page sees it: what WebCrypto allows with each half. */
  keyPair: async () => {
    const pair = await keyStore('readonly', (s) => s.get(`${storageKey}.dpop`));
    if (pair === undefined) return { found: false };
    const { privateKey, publicKey } = pair;
    return {
      found: true,
      private: {
        type: privateKey.type,
        extractable: privateKey.extractable,
        algorithm: privateKey.algorithm,
        usages: privateKey.usages,
        exportJwk: await outcome(() => crypto.subtle.exportKey('jwk', privateKey)),
        exportPkcs8: await outcome(() => crypto.subtle.exportKey('pkcs8', privateKey)),
      },
      public: {
        type: publicKey.type,
        extractable: publicKey.extractable,
        exportJwk: await outcome(() => crypto.subtle.exportKey('jwk', publicKey)),
      },
    };
  },
  /** Deletes the kept pair, as clearing the site's IndexedDB would. */
  forgetKey: () => keyStore('readwrite', (s) => s.delete(`${storageKey}.dpop`)),
};
document.body.dataset.ready = 'true';
