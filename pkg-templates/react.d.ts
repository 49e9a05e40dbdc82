/**
 * React bindings: {@link KeeperProvider} and hooks over a TokenKeeper or a
 * WorkerKeeper. They load no WebAssembly; React is an optional peer
 * dependency.
 *
 * @module tokenkeeper/react
 */
import type { ReactElement, ReactNode } from 'react';
import type { RedirectResult, TokenKeeper, TokenKeeperState } from './keeper.js';
import type { WorkerKeeper } from './worker.js';

/** A keeper the bindings accept: an in-page TokenKeeper or a WorkerKeeper. */
export type AnyKeeper = TokenKeeper | WorkerKeeper;

/** The props of {@link KeeperProvider}. */
export interface KeeperProviderProps {
  /** The keeper, made by the app in the browser; null while it is being made (and on a server). */
  keeper?: AnyKeeper | null;
  /** Called once the redirect login completed on its callback page. */
  onRedirect?: (result: RedirectResult) => void;
  /** Called when the callback or the restore failed. */
  onError?: (error: unknown) => void;
  /** The components that use the hooks. */
  children?: ReactNode;
}

/**
 * Provides the keeper to the hooks; on mount completes the redirect login on
 * its callback page, else restores the stored session, once per keeper
 * (StrictMode included).
 */
export function KeeperProvider(props: KeeperProviderProps): ReactElement;
/** The keeper of the nearest KeeperProvider; null while there is none. */
export function useKeeper(): AnyKeeper | null;
/** The session's state; re-renders only when it really changes. Logged out on a server. */
export function useSession(): TokenKeeperState;
/** A valid access token while the session is active, else null. */
export function useAccessToken(): string | null;
