/**
 * Svelte bindings: readable stores over a TokenKeeper or a WorkerKeeper,
 * and {@link startOnce}. They load no WebAssembly; Svelte is an optional
 * peer dependency.
 *
 * @module tokenkeeper/svelte
 */
import type { Readable } from 'svelte/store';
import type { RedirectResult, TokenKeeper, TokenKeeperState } from './keeper.js';
import type { WorkerKeeper } from './worker.js';

/** A keeper the bindings accept: an in-page TokenKeeper or a WorkerKeeper. */
export type AnyKeeper = TokenKeeper | WorkerKeeper;

/** How `startOnce` went: a redirect callback completed, or a restore (true when a session is active). */
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

/** Completes the redirect login on its callback page, else restores the stored session; once per keeper. */
export function startOnce(keeper: AnyKeeper): Promise<StartResult>;
/** The session's state; subscribers hear only real changes. */
export function sessionStore(keeper: AnyKeeper): Readable<TokenKeeperState>;
/** A valid access token while the session is active, else null. */
export function accessTokenStore(keeper: AnyKeeper): Readable<string | null>;
