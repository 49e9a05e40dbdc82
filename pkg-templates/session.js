// What the framework bindings share: a keeper's state as an external store
// that notifies only when the state really changed, and a redirect callback
// handled once per keeper. No framework and no WebAssembly here: the keeper
// is made by the app, in the browser.

/** The events after which a keeper's state may have changed. */
export const EVENTS = [
  'login', 'loginfailed', 'refreshing', 'refreshed', 'refreshfailed', 'sessionended',
  'restored', 'logout', 'revoked', 'revocationfailed', 'storageerror',
];

/** The state before a keeper is there (on a server, before the app made it). */
export const LOGGED_OUT = Object.freeze({
  status: 'loggedOut', endedReason: null, busy: false, expiresAt: null,
  refreshExpiresAt: null, refreshAt: null, scope: null, claims: null,
});

const stores = new WeakMap();

/**
 * The keeper's state as a store: `get()` returns the same object until the
 * state differs (by value), `subscribe(listener)` calls the listener only
 * then and returns the unsubscribe function.
 */
export function stateStore(keeper) {
  let store = stores.get(keeper);
  if (store) return store;
  let snapshot = keeper.state;
  let text = JSON.stringify(snapshot);
  const listeners = new Set();
  const check = () => {
    const next = keeper.state;
    const nextText = JSON.stringify(next);
    if (nextText === text) return;
    snapshot = next;
    text = nextText;
    for (const l of [...listeners]) l(snapshot);
  };
  store = {
    get: () => snapshot,
    subscribe(listener) {
      if (listeners.size === 0) for (const t of EVENTS) keeper.addEventListener(t, check);
      listeners.add(listener);
      // A change between the first read and the subscription.
      check();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) for (const t of EVENTS) keeper.removeEventListener(t, check);
      };
    },
  };
  stores.set(keeper, store);
  return store;
}

const started = new WeakMap();

/**
 * Once per keeper, whatever calls it twice (React's StrictMode runs effects
 * twice): completes the redirect login when this page is its callback
 * (`code` or `error` with `state` in the query), else restores the stored
 * session. Resolves to `{ callback, result }`; a failed callback rejects.
 */
export function startOnce(keeper) {
  let run = started.get(keeper);
  if (!run) {
    const query = new URLSearchParams(globalThis.location?.search ?? '');
    const callback = query.has('state') && (query.has('code') || query.has('error'));
    run = callback
      ? keeper.handleRedirect().then((result) => ({ callback: true, result }))
      : keeper.restore().then((result) => ({ callback: false, result }));
    started.set(keeper, run);
  }
  return run;
}

/**
 * The access token while the session is active, `null` otherwise, as a
 * store over `stateStore`: it asks the keeper again only when the state
 * changed (a login, a refresh), not on every read.
 */
export function tokenStore(keeper) {
  const state = stateStore(keeper);
  let token = null;
  /** Counts state changes: an answer to an older one is dropped. */
  let generation = 0;
  const listeners = new Set();
  const update = (s) => {
    const asked = ++generation;
    if (s.status !== 'active') {
      if (token !== null) {
        token = null;
        for (const l of [...listeners]) l(token);
      }
      return;
    }
    keeper.accessToken().then(
      (t) => {
        // A logout (or another change) came while this was asked.
        if (asked !== generation || t === token) return;
        token = t;
        for (const l of [...listeners]) l(token);
      },
      () => undefined,
    );
  };
  let stop = null;
  return {
    get: () => token,
    subscribe(listener) {
      listeners.add(listener);
      if (!stop) {
        stop = state.subscribe(update);
        update(state.get());
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && stop) {
          stop();
          stop = null;
        }
      };
    },
  };
}
