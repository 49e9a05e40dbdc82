// Types of `tokenkeeper/vue`.
import type { ShallowRef } from 'vue';
import type { RedirectResult, TokenKeeper, TokenKeeperState } from './keeper.js';
import type { WorkerKeeper } from './worker.js';

/** A keeper the bindings accept: an in-page TokenKeeper or a WorkerKeeper. */
export type AnyKeeper = TokenKeeper | WorkerKeeper;

/** How `provideKeeper`'s start went: a redirect callback completed, or a restore (true when a session is active). */
export type StartResult = { callback: true; result: RedirectResult } | { callback: false; result: boolean };

/**
 * Provides `keeper` to the component's descendants; completes the redirect
 * login on its callback page, else restores the stored session, once per keeper.
 */
export function provideKeeper(keeper: AnyKeeper): Promise<StartResult>;
/** The provided keeper, or null. */
export function useKeeper(): AnyKeeper | null;
/** The session's state as a shallow ref, replaced only when it really changes. */
export function useSession(keeper?: AnyKeeper | null): ShallowRef<TokenKeeperState>;
/** A valid access token while the session is active, else null. */
export function useAccessToken(keeper?: AnyKeeper | null): ShallowRef<string | null>;
