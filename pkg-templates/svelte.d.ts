// Types of `tokenkeeper/svelte`.
import type { Readable } from 'svelte/store';
import type { RedirectResult, TokenKeeper, TokenKeeperState } from './keeper.js';
import type { WorkerKeeper } from './worker.js';

/** A keeper the bindings accept: an in-page TokenKeeper or a WorkerKeeper. */
export type AnyKeeper = TokenKeeper | WorkerKeeper;

/** How `startOnce` went: a redirect callback completed, or a restore (true when a session is active). */
export type StartResult = { callback: true; result: RedirectResult } | { callback: false; result: boolean };

/** Completes the redirect login on its callback page, else restores the stored session; once per keeper. */
export function startOnce(keeper: AnyKeeper): Promise<StartResult>;
/** The session's state; subscribers hear only real changes. */
export function sessionStore(keeper: AnyKeeper): Readable<TokenKeeperState>;
/** A valid access token while the session is active, else null. */
export function accessTokenStore(keeper: AnyKeeper): Readable<string | null>;
