// Hand-written types of the TokenKeeper class (src/js/keeper.js).

/** How the client authenticates to an OAuth2 token endpoint (RFC 6749 §2.3.1). */
export type ClientAuth = 'basic' | 'basic-plain' | 'post' | 'none';

/** An OAuth2 token endpoint (RFC 6749): Keycloak, /connect/token, /oauth/token, … */
export interface OAuth2Profile {
  kind: 'oauth2';
  /** The token endpoint, absolute https (http only on loopback or with allowInsecureHttp). */
  tokenUrl: string;
  clientId: string;
  /** A confidential client's secret. In a browser page only with `allowConfidentialInBrowser`. */
  clientSecret?: string;
  /** Default: `basic` with a secret, `none` without. */
  clientAuth?: ClientAuth;
  /** Space-separated scopes to request. */
  scope?: string;
  /** Extra form parameters for every token request (e.g. `audience`). */
  extraParams?: Record<string, string>;
  /** RFC 7009 revocation endpoint, used by `logout()`. */
  revocationUrl?: string;
  /** Authorization endpoint, for the authorization code flow. */
  authorizationUrl?: string;
  /** Redirect URI registered for the authorization code flow. */
  redirectUri?: string;
}

/** A custom JSON login/refresh API (e.g. `POST /Identity/Auth/Login`). */
export interface JsonProfile {
  kind: 'json';
  loginUrl: string;
  refreshUrl: string;
  /** Static headers sent with login and refresh, e.g. `{ 'X-API-Key': key }`. */
  headers?: Record<string, string>;
  /** Body and response field names; defaults are the camelCase ones shown. */
  fields?: {
    username?: string;
    password?: string;
    refreshToken?: string;
    accessToken?: string;
    expiresIn?: string;
    refreshExpiresIn?: string;
  };
  /** Send `Authorization: Bearer <access token>` on refresh. Default true. */
  bearerOnRefresh?: boolean;
  /** A refresh token works once (rotation). Default true. */
  singleUseRefreshToken?: boolean;
}

/** When to refresh: `leadFraction` of the lifetime before expiry, clamped. */
export interface RefreshPolicy {
  leadFraction?: number;
  minLeadMs?: number;
  maxLeadMs?: number;
  maxJitterMs?: number;
  minIntervalMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  retryAfterMaxMs?: number;
}

/** A user storage adapter: async string storage by key (Workers KV, IndexedDB, …). */
export interface StorageAdapter {
  get(key: string): Promise<string | null | undefined> | string | null | undefined;
  set(key: string, value: string): Promise<void> | void;
  delete(key: string): Promise<void> | void;
}

export interface TokenKeeperOptions {
  profile: OAuth2Profile | JsonProfile;
  refresh?: RefreshPolicy;
  /** Where tokens live. Default `"memory"`. */
  storage?: 'memory' | 'session' | 'local' | StorageAdapter;
  /**
   * Storage key and cross-tab lock name. Default: `"tokenkeeper:"` and the
   * token endpoint (the refresh URL for a JSON profile), plus a space and
   * the client id for OAuth 2.0, so that keepers for different endpoints or
   * clients keep apart. A stored session is restored only by a keeper for
   * the same token endpoint and client.
   */
  storageKey?: string;
  /** Origins `keeper.fetch` may send the token to. Default: this page's and the identity provider's. */
  allowedOrigins?: string[];
  /** Refresh ahead of expiry with a timer. Default true; false refreshes on demand only (Workers). */
  autoRefresh?: boolean;
  /** Timeout of each token request. Default 10000. */
  requestTimeoutMs?: number;
  /** How long a refresh waits for the cross-tab lock. Default 10000. */
  lockTimeoutMs?: number;
  /** Allow plain http token endpoints beyond loopback. Default false. */
  allowInsecureHttp?: boolean;
  /** Allow a client secret or the OAuth password grant in a browser page. Default false. */
  allowConfidentialInBrowser?: boolean;
  /** The fetch to use (tests, custom agents). Default: the global fetch. */
  fetch?: (input: Request | string | URL, init?: RequestInit) => Promise<Response>;
  /** The clock, epoch ms (tests). Default: Date.now. */
  now?: () => number;
}

/** Options of `accessToken()` and `fetch()`. */
export interface AccessTokenOptions {
  /** Runs a refresh that is due but not yet needed in the background (a Worker's `ctx.waitUntil.bind(ctx)`). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /**
   * Stops waiting when it aborts: the call rejects with `signal.reason`
   * (e.g. `AbortSignal.timeout(ms)`); a shared refresh goes on. `fetch()`
   * uses its request's signal instead.
   */
  signal?: AbortSignal;
}

export type Credentials =
  | { username: string; password: string }
  | { code: string; codeVerifier: string; redirectUri: string }
  | Record<string, never>;

export interface TokenKeeperState {
  status: 'loggedOut' | 'active' | 'ended';
  endedReason: string | null;
  busy: boolean;
  /** Access token expiry, epoch ms. */
  expiresAt: number | null;
  /** Refresh token expiry, epoch ms. */
  refreshExpiresAt: number | null;
  /** When the next refresh (or retry) is planned, epoch ms. */
  refreshAt: number | null;
  scope: string | null;
  /** The access token's JWT claims, NOT verified: for display only. */
  claims: Record<string, unknown> | null;
}

export type ErrorCode =
  | 'AUTH_CONFIG'
  | 'AUTH_NETWORK'
  | 'AUTH_TIMEOUT'
  | 'AUTH_ABORTED'
  | 'AUTH_NO_SESSION'
  | 'AUTH_NO_REFRESH_TOKEN'
  | 'AUTH_SESSION_ENDED'
  | 'AUTH_RETRY_LATER'
  | 'AUTH_RATE_LIMITED'
  | 'AUTH_SERVER_UNAVAILABLE'
  | 'AUTH_STORAGE'
  | 'AUTH_STORAGE_FORMAT'
  | 'AUTH_LOCK_TIMEOUT'
  | 'AUTH_ORIGIN_NOT_ALLOWED'
  | 'OAUTH_RESPONSE_IS_NOT_JSON'
  | 'OAUTH_PARSE_ERROR'
  | 'OAUTH_INVALID_RESPONSE'
  | 'OAUTH_UNSUPPORTED_OPERATION'
  | 'OAUTH_RESPONSE_BODY_ERROR'
  | 'OAUTH_RESPONSE_IS_NOT_CONFORM'
  | (string & {});

/** An Error with a stable `code`; never carries a token, password or secret. */
export class TokenKeeperError extends Error {
  readonly name: 'TokenKeeperError';
  readonly code: ErrorCode;
  /** The HTTP status behind the error, if any. */
  readonly status?: number;
  /** The server's OAuth `error` (RFC 6749 §5.2). */
  readonly error?: string;
  /** The server's `error_description`, truncated. */
  readonly error_description?: string;
  /** Whether trying again later may succeed. */
  readonly transient: boolean;
}

export interface TokenKeeperEventMap {
  login: CustomEvent<Record<string, never>>;
  loginfailed: CustomEvent<{ error: TokenKeeperError }>;
  refreshing: CustomEvent<Record<string, never>>;
  refreshed: CustomEvent<{ rotated: boolean }>;
  refreshfailed: CustomEvent<{ error: TokenKeeperError; transient: boolean; retryIn: number | null }>;
  sessionended: CustomEvent<{ reason: string }>;
  restored: CustomEvent<Record<string, never>>;
  logout: CustomEvent<Record<string, never>>;
  revoked: CustomEvent<Record<string, never>>;
  revocationfailed: CustomEvent<{ error: TokenKeeperError }>;
  storageerror: CustomEvent<{ error?: TokenKeeperError; code?: string; storage?: string }>;
}

/** Keeps one session logged in and hands out valid access tokens. */
export class TokenKeeper extends EventTarget {
  constructor(options: TokenKeeperOptions);
  /** Loads a stored session; resolves to whether one is active. */
  restore(): Promise<boolean>;
  /** Logs in; no argument for the client credentials grant. */
  login(credentials?: Credentials): Promise<void>;
  /**
   * A valid access token, refreshing first when due. With `waitUntil` (a
   * Worker's `ctx.waitUntil.bind(ctx)`), a token that is due but valid for
   * 2 s more is returned at once and refreshed in the background.
   */
  accessToken(options?: AccessTokenOptions): Promise<string>;
  /** Until when (epoch ms) `accessToken()` returns the held token without any work; 0 when none is held. */
  readonly freshUntil: number;
  /** Refreshes now, unless another tab just did. */
  refresh(): Promise<void>;
  /** Clears storage; revokes the token where configured. */
  logout(): Promise<void>;
  /** A secret-free view of the session. */
  readonly state: TokenKeeperState;
  /**
   * fetch with the Bearer token (allowed origins only), one refresh-and-retry
   * on 401. Aborting the request's signal also ends its wait for a refresh.
   */
  fetch(input: Request | string | URL, init?: RequestInit, options?: AccessTokenOptions): Promise<Response>;
  /** Stops timers and listeners. */
  close(): void;

  addEventListener<K extends keyof TokenKeeperEventMap>(
    type: K,
    listener: (this: TokenKeeper, ev: TokenKeeperEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof TokenKeeperEventMap>(
    type: K,
    listener: (this: TokenKeeper, ev: TokenKeeperEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}

/** The package version. */
export function version(): string;

// ---- Redirect login: authorization code + PKCE, OpenID Connect --------
// Declarations merge into the OAuth2Profile interface and the TokenKeeper
// class above.

export interface OAuth2Profile {
  /** Issuer identifier: the ID token's `iss` and a callback's `iss` (RFC 9207) must equal it. */
  issuer?: string;
  /** The issuer's JWK Set (RFC 8414 `jwks_uri`), to verify ID token signatures with WebCrypto. */
  jwksUri?: string;
}

/** Per-login choices of `authorizeUrl` / `loginWithRedirect`. */
export interface AuthorizeParams {
  /** Default: the profile's `redirectUri`, else this page's origin and path. */
  redirectUri?: string;
  /** Default: the profile's `scope`. */
  scope?: string;
  /** Extra authorization request parameters, e.g. `{ prompt: 'login' }`. */
  extraParams?: Record<string, string>;
}

/** What `handleRedirect` resolves to. */
export interface RedirectResult {
  /** The ID token's claims, signature and claims verified; `null` when none came back. */
  idTokenClaims: Record<string, unknown> | null;
}

/** Options of `TokenKeeper.discover`: an oauth2 profile with an `issuer`; discovered endpoints fill what is unset. */
export type DiscoveryOptions = Omit<TokenKeeperOptions, 'profile'> & {
  profile: Omit<OAuth2Profile, 'tokenUrl' | 'issuer'> & { issuer: string; tokenUrl?: string };
};

/** Error codes of the redirect login and discovery. */
export type RedirectErrorCode =
  | 'AUTH_STATE_MISMATCH'
  | 'AUTH_ISSUER_MISMATCH'
  | 'AUTH_NO_PENDING_LOGIN'
  | 'AUTH_CALLBACK_INVALID'
  | 'AUTH_ID_TOKEN_INVALID'
  | 'OAUTH_AUTHORIZATION_RESPONSE_ERROR';

export interface TokenKeeper {
  /** Builds the authorization URL (PKCE S256, state, nonce) and stores the pending login. */
  authorizeUrl(params?: AuthorizeParams): Promise<string>;
  /** `authorizeUrl`, then `location.assign` when in a page; resolves to the URL. */
  loginWithRedirect(params?: AuthorizeParams): Promise<string>;
  /** Completes the login from the callback URL (default: `location.href`); the session is unchanged on failure. */
  handleRedirect(url?: string | URL): Promise<RedirectResult>;
}

export declare namespace TokenKeeper {
  /** Fetches `${issuer}/.well-known/openid-configuration`, validates it, and builds a keeper from it. */
  function discover(options: DiscoveryOptions): Promise<TokenKeeper>;
}
