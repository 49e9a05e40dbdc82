/**
 * Vue bindings: {@link provideKeeper} and composables over a TokenKeeper or
 * a WorkerKeeper, as shallow refs. They load no WebAssembly; Vue is an
 * optional peer dependency.
 *
 * @module tokenkeeper/vue
 */
import type { ShallowRef } from 'vue';
import type { RedirectResult, TokenKeeper, TokenKeeperState } from './keeper.js';
import type { WorkerKeeper } from './worker.js';

/** A keeper the bindings accept: an in-page TokenKeeper or a WorkerKeeper. */
export type AnyKeeper = TokenKeeper | WorkerKeeper;

/** How `provideKeeper`'s start went: a redirect callback completed, or a restore (true when a session is active). */
export type StartResult =
  | {
      /** This page was the redirect login's callback. */
      callback: true;
      /** What `handleRedirect` resolved to. */
      result: RedirectResult;
    }
  | {
      /** This page was not a callback: the stored session was restored. */
      callback: false;
      /** Whether a session is active. */
      result: boolean;
    };

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
