/**
 * The keeper in a worker, TokenKeeper's API in the page: a
 * {@link WorkerKeeper} runs the keeper in a SharedWorker, a dedicated
 * Worker or a Service Worker, so that the refresh token and the DPoP key
 * never reach the page.
 *
 * @module tokenkeeper/worker
 */
import type {
  AuthorizeParams,
  Credentials,
  ErrorCode,
  Listener,
  ListenerOptions,
  RedirectResult,
  TokenKeeper,
  TokenKeeperEventMap,
  TokenKeeperOptions,
  TokenKeeperState,
} from './keeper.js';

/** TokenKeeper's options as a worker can receive them: no functions, no adapters. */
export type WorkerKeeperOptions = Omit<TokenKeeperOptions, 'storage' | 'fetch' | 'now' | 'isRejected'> & {
  /**
   * `"memory"` (default): the session lives as long as the worker.
   * `"indexeddb"`: kept sealed (AES-GCM, non-extractable key) in IndexedDB,
   * so a restarted worker restores it and a redirect login survives the
   * navigation.
   */
  storage?: 'memory' | 'indexeddb';
};

/** How the worker runs. */
export interface WorkerOptions {
  /**
   * `"auto"` (default: a SharedWorker where there is one, else a dedicated
   * Worker), `"shared"`, `"dedicated"`, or `"service"`: a Service Worker
   * registered from `workerUrl` (required), which can add the token to the
   * page's own requests (`intercept`).
   */
  mode?: 'auto' | 'shared' | 'dedicated' | 'service';
  /** Fill the profile from the issuer's discovery document, as `TokenKeeper.discover`. */
  discover?: boolean;
  /** Where `keeper-worker.js` is served, when a bundler does not emit it; with `"service"`, a script in the pages' scope. */
  workerUrl?: string | URL;
  /** `"service"`: origins (among `allowedOrigins`) whose requests from the page get the token in the Service Worker. */
  intercept?: string[];
  /** `"service"`: let `accessToken()` hand the token to the page. Default false. */
  exposeAccessToken?: boolean;
}

/** An Error with a stable `code`, as TokenKeeper's. */
export class TokenKeeperError extends Error {
  /**
   * What went wrong: an {@link ErrorCode}, or `"AUTH_WORKER_UNAVAILABLE"`
   * (this browser has no worker of the mode asked for) or
   * `"AUTH_WORKER_FAILED"` (the worker failed, or no Service Worker
   * controls the page; transient).
   */
  readonly code: ErrorCode | 'AUTH_WORKER_UNAVAILABLE' | 'AUTH_WORKER_FAILED';
  /** The HTTP status behind the error, if any. */
  readonly status?: number;
  /** The server's OAuth `error` (RFC 6749 §5.2). */
  readonly error?: string;
  /** The server's `error_description`, truncated. */
  readonly error_description?: string;
  /** Whether trying again later may succeed. */
  readonly transient: boolean;
  /** With a transient error while a retry is planned: milliseconds until the next attempt. */
  readonly retryIn?: number;
}

/** A TokenKeeper that runs in a worker; the refresh token and the DPoP key never reach the page. */
export class WorkerKeeper extends EventTarget {
  /** Throws `AUTH_WORKER_UNAVAILABLE` where `mode` has no worker, `AUTH_CONFIG` for options a worker cannot receive. */
  constructor(options: WorkerKeeperOptions, workerOptions?: WorkerOptions);
  /** A WorkerKeeper; where workers are missing, with `fallback: "page"`, an in-page TokenKeeper. */
  static create(
    options: WorkerKeeperOptions,
    workerOptions?: WorkerOptions & { fallback?: 'error' | 'page' },
  ): Promise<WorkerKeeper | TokenKeeper>;
  /** Where the keeper runs. */
  readonly mode: 'shared' | 'dedicated' | 'service';
  /** Loads the worker's stored session; resolves to whether one is active. */
  restore(): Promise<boolean>;
  /** Logs in, in the worker; no argument for the client credentials grant. */
  login(credentials?: Credentials): Promise<void>;
  /** A valid access token from the worker; in `"service"` mode only with `exposeAccessToken`. */
  accessToken(): Promise<string>;
  /** Refreshes now, in the worker. */
  refresh(): Promise<void>;
  /** Logs out in the worker: clears storage, revokes the token where configured. */
  logout(): Promise<void>;
  /** The last state the worker reported. */
  readonly state: TokenKeeperState;
  /** fetch through the worker's keeper (token, DPoP proof, one renewal on rejection); bodies are read whole. */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
  /** Builds the authorization URL in the worker, which keeps the pending login, as `TokenKeeper.authorizeUrl`. */
  authorizeUrl(params?: AuthorizeParams): Promise<string>;
  /** `authorizeUrl`, then `location.assign`; resolves to the URL. */
  loginWithRedirect(params?: AuthorizeParams): Promise<string>;
  /** Completes the redirect login in the worker from the callback URL (default: `location.href`), as `TokenKeeper.handleRedirect`. */
  handleRedirect(url?: string | URL): Promise<RedirectResult>;
  /** Detaches from the worker. */
  close(): void;

  /** Calls `listener` with each event of `type` that the worker's keeper dispatches, typed by {@link TokenKeeperEventMap}. */
  addEventListener<K extends keyof TokenKeeperEventMap>(
    type: K,
    listener: (this: WorkerKeeper, ev: TokenKeeperEventMap[K]) => unknown,
    options?: boolean | ListenerOptions,
  ): void;
  /** Calls `listener` with each event of `type`. */
  addEventListener(type: string, listener: Listener | null, options?: boolean | ListenerOptions): void;
  /** Removes a listener that `addEventListener` added. */
  removeEventListener<K extends keyof TokenKeeperEventMap>(
    type: K,
    listener: (this: WorkerKeeper, ev: TokenKeeperEventMap[K]) => unknown,
    options?: boolean | Pick<ListenerOptions, 'capture'>,
  ): void;
  /** Removes a listener that `addEventListener` added. */
  removeEventListener(type: string, listener: Listener | null, options?: boolean | Pick<ListenerOptions, 'capture'>): void;
}
