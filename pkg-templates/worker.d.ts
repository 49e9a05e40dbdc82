// Types of `tokenkeeper/worker`: the keeper in a worker, TokenKeeper's API in the page.
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
  readonly code: ErrorCode | 'AUTH_WORKER_UNAVAILABLE' | 'AUTH_WORKER_FAILED';
  readonly status?: number;
  readonly error?: string;
  readonly error_description?: string;
  readonly transient: boolean;
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
  restore(): Promise<boolean>;
  login(credentials?: Credentials): Promise<void>;
  accessToken(): Promise<string>;
  refresh(): Promise<void>;
  logout(): Promise<void>;
  /** The last state the worker reported. */
  readonly state: TokenKeeperState;
  /** fetch through the worker's keeper (token, DPoP proof, one renewal on rejection); bodies are read whole. */
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
  authorizeUrl(params?: AuthorizeParams): Promise<string>;
  loginWithRedirect(params?: AuthorizeParams): Promise<string>;
  handleRedirect(url?: string | URL): Promise<RedirectResult>;
  /** Detaches from the worker. */
  close(): void;

  addEventListener<K extends keyof TokenKeeperEventMap>(
    type: K,
    listener: (this: WorkerKeeper, ev: TokenKeeperEventMap[K]) => unknown,
    options?: boolean | ListenerOptions,
  ): void;
  addEventListener(type: string, listener: Listener | null, options?: boolean | ListenerOptions): void;
  removeEventListener<K extends keyof TokenKeeperEventMap>(
    type: K,
    listener: (this: WorkerKeeper, ev: TokenKeeperEventMap[K]) => unknown,
    options?: boolean | Pick<ListenerOptions, 'capture'>,
  ): void;
  removeEventListener(type: string, listener: Listener | null, options?: boolean | Pick<ListenerOptions, 'capture'>): void;
}
