// `tokenkeeper/svelte`: a keeper's session and access token as readable
// stores (Svelte's store contract: `$session` in components). The app makes
// the keeper in the browser.
import { readable } from 'svelte/store';
import { startOnce, stateStore, tokenStore } from './session.js';

export { startOnce };

/** The session's state; subscribers hear only real changes. */
export function sessionStore(keeper) {
  const state = stateStore(keeper);
  return readable(state.get(), (set) => state.subscribe(set));
}

/** A valid access token while the session is active, else null. */
export function accessTokenStore(keeper) {
  const tokens = tokenStore(keeper);
  return readable(tokens.get(), (set) => tokens.subscribe(set));
}
