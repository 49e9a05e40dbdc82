// `tokenkeeper/vue`: the keeper provided to a component tree, and its
// session as a `ref`. The app makes the keeper in the browser.
import { getCurrentScope, inject, onScopeDispose, provide, shallowRef } from 'vue';
import { LOGGED_OUT, startOnce, stateStore, tokenStore } from './session.js';

const KEY = Symbol('tokenkeeper');

/**
 * Provides `keeper` to this component's descendants and, once per keeper,
 * completes the redirect login when this page is its callback, else
 * restores the stored session; resolves as `startOnce` does.
 */
export function provideKeeper(keeper) {
  provide(KEY, keeper);
  return startOnce(keeper);
}

/** The provided keeper, or null. */
export function useKeeper() {
  return inject(KEY, null);
}

/**
 * The session's state as a shallow `ref`, replaced only when the state
 * really changes; stops listening when the calling scope ends.
 */
export function useSession(keeper = useKeeper()) {
  const state = shallowRef(keeper ? stateStore(keeper).get() : LOGGED_OUT);
  if (keeper) {
    const stop = stateStore(keeper).subscribe((s) => {
      state.value = s;
    });
    if (getCurrentScope()) onScopeDispose(stop);
  }
  return state;
}

/** A valid access token while the session is active, else null, as a `ref`. */
export function useAccessToken(keeper = useKeeper()) {
  const token = shallowRef(null);
  if (keeper) {
    const stop = tokenStore(keeper).subscribe((t) => {
      token.value = t;
    });
    if (getCurrentScope()) onScopeDispose(stop);
  }
  return token;
}
