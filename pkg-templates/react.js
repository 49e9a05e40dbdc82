// `tokenkeeper/react`: a provider, and hooks over useSyncExternalStore. The
// app makes the keeper in the browser (so a server render loads no
// WebAssembly) and hands it to <KeeperProvider keeper={…}>.
import { createContext, createElement, useCallback, useContext, useEffect, useRef, useSyncExternalStore } from 'react';
import { LOGGED_OUT, startOnce, stateStore, tokenStore } from './session.js';

const KeeperContext = createContext(null);
/** One token store per keeper, shared by every component that asks. */
const tokenStores = new WeakMap();

/**
 * Provides `keeper` (a TokenKeeper or WorkerKeeper, or null while it is
 * being made) to the hooks below, and on mount completes the redirect
 * login when this page is its callback, else restores the stored session:
 * once per keeper, StrictMode's second run included. `onRedirect(result)`
 * and `onError(error)` report how that went.
 */
export function KeeperProvider({ keeper = null, onRedirect, onError, children }) {
  // The latest callbacks, not the first render's.
  const callbacks = useRef({ onRedirect, onError });
  callbacks.current = { onRedirect, onError };
  useEffect(() => {
    if (!keeper) return undefined;
    let live = true;
    startOnce(keeper).then(
      ({ callback, result }) => live && callback && callbacks.current.onRedirect?.(result),
      (error) => live && callbacks.current.onError?.(error),
    );
    return () => {
      live = false;
    };
  }, [keeper]);
  return createElement(KeeperContext.Provider, { value: keeper }, children);
}

/** The keeper of the nearest KeeperProvider; null while there is none yet. */
export function useKeeper() {
  return useContext(KeeperContext);
}

/**
 * The session's state (`status`, `expiresAt`, `claims`, …): a re-render
 * only when it really changes, never per timer tick; logged out on the
 * server and before the keeper is there.
 */
export function useSession() {
  const keeper = useContext(KeeperContext);
  const subscribe = useCallback((onChange) => (keeper ? stateStore(keeper).subscribe(onChange) : () => undefined), [keeper]);
  const get = useCallback(() => (keeper ? stateStore(keeper).get() : LOGGED_OUT), [keeper]);
  return useSyncExternalStore(subscribe, get, () => LOGGED_OUT);
}

/** A valid access token while the session is active, else null (renewed as the keeper renews it). */
export function useAccessToken() {
  const keeper = useContext(KeeperContext);
  let tokens = null;
  if (keeper) {
    tokens = tokenStores.get(keeper);
    if (!tokens) tokenStores.set(keeper, (tokens = tokenStore(keeper)));
  }
  const subscribe = useCallback((onChange) => (tokens ? tokens.subscribe(onChange) : () => undefined), [tokens]);
  const get = useCallback(() => (tokens ? tokens.get() : null), [tokens]);
  return useSyncExternalStore(subscribe, get, () => null);
}
