// Hand-written types of the TokenKeeper class (src/js/keeper.js).

/** How the client authenticates to an OAuth2 token endpoint (RFC 6749 §2.3.1). */
export type ClientAuth = 'basic' | 'basic-plain' | 'post' | 'none';

/** An OAuth2 token endpoint (RFC 6749): Keycloak, /connect/token, /oauth/token, … */
export interface OAuth2Profile {
  /** Selects this profile. */
  kind: 'oauth2';
  /** The token endpoint, absolute https (http only on loopback or with allowInsecureHttp). */
  tokenUrl: string;
  /** The client identifier registered at the authorization server (RFC 6749 §2.2). */
  clientId: string;
  /** A confidential client's secret. In a browser (page or worker) only with `allowConfidentialInBrowser`. */
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
  /**
   * Static headers `keeper.fetch` sends with the token, to allowed origins
   * only (never to another origin, never with login or refresh), e.g.
   * `{ 'X-API-Key': key }`. Names are HTTP tokens other than
   * `Authorization`, `Content-Type`, `Content-Length`, `Accept`, `Host` and
   * `Cookie`; values visible ASCII. Each replaces a header of the same name
   * the caller set. Values are secrets: they never appear in an error or
   * event.
   */
  apiHeaders?: Record<string, string>;
  /** The device authorization endpoint (RFC 8628), for `startDeviceLogin`. `discover()` fills it. */
  deviceAuthorizationUrl?: string;
  /** The pushed authorization request endpoint (RFC 9126). `discover()` fills it. */
  pushedAuthorizationRequestUrl?: string;
  /**
   * Push every redirect login's request first (RFC 9126): the URL then
   * carries only `client_id` and `request_uri`. `discover()` sets it from
   * the metadata's `require_pushed_authorization_requests`. Needs
   * `pushedAuthorizationRequestUrl`. Default false.
   */
  requirePushedAuthorizationRequests?: boolean;
}

/** A custom JSON login/refresh API (e.g. `POST /Identity/Auth/Login`). */
export interface JsonProfile {
  /** Selects this profile. */
  kind: 'json';
  /**
   * The login endpoint: a JSON `POST` of the username and password, which
   * answers with the tokens. Absolute https (http only on loopback or with
   * allowInsecureHttp).
   */
  loginUrl: string;
  /** The refresh endpoint: a JSON `POST` of the refresh token, which answers with new tokens. */
  refreshUrl: string;
  /**
   * Static headers sent with login and refresh only, e.g.
   * `{ 'X-API-Key': key }`; `keeper.fetch` does not send them (see
   * `apiHeaders`).
   */
  headers?: Record<string, string>;
  /**
   * Static headers `keeper.fetch` sends with the token, to allowed origins
   * only (never to another origin, never with login or refresh), e.g.
   * `{ 'X-API-Key': key }`. Names are HTTP tokens other than
   * `Authorization`, `Content-Type`, `Content-Length`, `Accept`, `Host` and
   * `Cookie`; values visible ASCII. Each replaces a header of the same name
   * the caller set. Values are secrets: they never appear in an error or
   * event.
   */
  apiHeaders?: Record<string, string>;
  /** Body and response field names; defaults are the camelCase ones shown. */
  fields?: {
    /** The login body's username member. */
    username?: string;
    /** The login body's password member. */
    password?: string;
    /** The refresh token's member, in the refresh body and in both answers. */
    refreshToken?: string;
    /** The access token's member in the answers. */
    accessToken?: string;
    /** The lifetime in seconds: the first source of the default `expiry`. */
    expiresIn?: string;
    /** The refresh token's lifetime in seconds: the first source of the default `refreshExpiry`. */
    refreshExpiresIn?: string;
  };
  /** Send `Authorization: Bearer <access token>` on refresh. Default true. */
  bearerOnRefresh?: boolean;
  /** A refresh token works once (rotation). Default true. */
  singleUseRefreshToken?: boolean;
  /**
   * Where the access token's expiry is read, in order of preference: the
   * first source the response has wins. A present member that cannot be
   * read fails the login or refresh (`OAUTH_INVALID_RESPONSE` naming it).
   * Default `[{ field: fields.expiresIn, unit: 'seconds' }, 'jwt']`.
   * LGDXRobot Cloud: `[{ field: 'expiresMins', unit: 'minutes' }, 'jwt']`.
   */
  expiry?: ExpirySource[];
  /**
   * Where the refresh token's expiry is read, likewise; `'jwt'` is the
   * refresh token's `exp`, a lifetime of 0 means "no fixed maximum", and a
   * member that cannot be read is ignored. Default
   * `[{ field: fields.refreshExpiresIn, unit: 'seconds' }, 'jwt']`.
   */
  refreshExpiry?: ExpirySource[];
}

/**
 * One place a token's expiry may be read from: `'jwt'`, the token's own JWT
 * `exp` (read unverified; skipped when the token has none), or a response
 * member read in `unit`.
 */
export type ExpirySource =
  | 'jwt'
  | {
      /** The response member's name. */
      field: string;
      /** How its value is read. */
      unit: ExpiryUnit;
    };

/**
 * How an expiry member is read. Lifetimes, counted from when the request was
 * sent: `'seconds'`, `'minutes'` (a number or numeric string, fractions
 * floored). Absolute times in the server's clock, corrected by the offset
 * estimated from its `Date` header (else the JWT `iat`): `'epochSeconds'`,
 * `'epochMillis'` (likewise numbers or numeric strings), `'iso8601'` (an RFC
 * 3339 date-time with `Z` or `±HH:MM`, e.g. `2025-06-30T18:30:00.250Z`; `t`,
 * `z` and a space separator accepted). Absolute times must lie between
 * 2000-01-01 and 9999-12-31.
 */
export type ExpiryUnit = 'seconds' | 'minutes' | 'epochSeconds' | 'epochMillis' | 'iso8601';

/**
 * When to refresh and how to retry (all in ms). A token is refreshed
 * `clamp(leadFraction × lifetime, minLeadMs, maxLeadMs)` minus jitter before
 * it expires. A token that has expired, or that an API rejected, is renewed
 * at once (one shared request for all callers); only failures are rate
 * limited.
 */
export interface RefreshPolicy {
  /** Share of the lifetime to refresh ahead, 0–1. Default 0.2. */
  leadFraction?: number;
  /** Least lead time. Default 5000. */
  minLeadMs?: number;
  /** Most lead time. Default 300000. */
  maxLeadMs?: number;
  /** Largest random extra lead, spreading tabs and instances apart. Default 5000. */
  maxJitterMs?: number;
  /**
   * Least time between two refreshes *ahead of* expiry, and before asking
   * again for a token the server just re-issued. Never delays the renewal
   * of an expired or rejected token. Default 5000.
   */
  minIntervalMs?: number;
  /**
   * During backoff, how long a caller without a valid token waits for the
   * next attempt (its `signal` may end the wait sooner) before it rejects
   * with `AUTH_RETRY_LATER` and `retryIn`. Default 5000.
   */
  maxWaitMs?: number;
  /** First retry delay after a transient failure. Default 1000. */
  backoffBaseMs?: number;
  /** Longest retry delay. Default 60000. */
  backoffMaxMs?: number;
  /** Cap on a server's `Retry-After`. Default 3600000. */
  retryAfterMaxMs?: number;
}

/** A user storage adapter: async string storage by key (Workers KV, IndexedDB, …). */
export interface StorageAdapter {
  /** The value stored under `key`; null or undefined when there is none. */
  get(key: string): Promise<string | null | undefined> | string | null | undefined;
  /** Stores `value` under `key`, replacing what was there. */
  set(key: string, value: string): Promise<void> | void;
  /** Removes `key` and its value. */
  delete(key: string): Promise<void> | void;
}

/** What `new TokenKeeper(options)` takes; only `profile` is required. */
export interface TokenKeeperOptions {
  /** The token endpoint and how to talk to it. */
  profile: OAuth2Profile | JsonProfile;
  /** When to refresh and how to retry; each member has a default. */
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
  /**
   * Origins `keeper.fetch` may send the token and `apiHeaders` to; any
   * other throws `AUTH_ORIGIN_NOT_ALLOWED` before anything is sent. Each
   * entry is an absolute origin, `https://api.example.com` (a trailing `/`
   * is allowed; a path, query, fragment or user info is `AUTH_CONFIG`);
   * `http:` only on loopback or with `allowInsecureHttp`. Scheme and host
   * case and default ports do not matter. Default: this page's origin
   * (`location.origin`, where there is one) and the origins of the
   * profile's `tokenUrl`, or `loginUrl` and `refreshUrl`.
   */
  allowedOrigins?: string[];
  /**
   * The statuses of a `keeper.fetch` answer that mean the API did not
   * accept the token, leading to one renewal and one retry; 400–599.
   * Default `[401]`; `[401, 403]` for APIs that answer a refused token with
   * 403. Whatever the list, a `WWW-Authenticate: Bearer` challenge with
   * `error="insufficient_scope"` is not a rejection (a renewed token has no
   * more scope), and a 401 with `error="invalid_token"` always is
   * (RFC 6750 §3.1).
   */
  rejectStatuses?: number[];
  /**
   * Decides instead of `rejectStatuses` (and its RFC 6750 rules) whether a
   * `keeper.fetch` answer means the token was not accepted. It sees the
   * first answer only, and that answer goes to the caller when it returns
   * false: read the body from `response.clone()`. What it throws, the
   * `fetch` call rejects with.
   */
  isRejected?: (response: Response) => boolean | Promise<boolean>;
  /**
   * Sender-constrained tokens (DPoP, RFC 9449), `oauth2` profiles only.
   * `true`: an ES256 key pair is made with WebCrypto, its private key
   * non-extractable, and kept in IndexedDB (database `tokenkeeper`) when
   * `storage` outlives the page, so reloads and other tabs sign with the
   * key the tokens are bound to; in memory elsewhere (Node, Deno, Workers,
   * `storage: 'memory'`). `{ keyPair }`: an ECDSA P-256 `CryptoKeyPair` you
   * made (e.g. one per Worker isolate, or kept in a Durable Object). Every
   * token request then carries a `DPoP` proof, the token endpoint must
   * answer `token_type: "DPoP"` (`AUTH_DPOP_TOKEN_TYPE` otherwise), a
   * redirect login sends `dpop_jkt`, and `keeper.fetch` sends
   * `Authorization: DPoP <token>` with a proof. A `use_dpop_nonce` answer
   * is retried once with the server's nonce. Default false.
   */
  dpop?:
    | boolean
    | {
        /** The key pair that signs the proofs. */
        keyPair: DpopKeyPair;
      };
  /** Refresh ahead of expiry with a timer. Default true; false refreshes on demand only (Workers). */
  autoRefresh?: boolean;
  /** Timeout of each token request. Default 10000. */
  requestTimeoutMs?: number;
  /** How long a refresh waits for the cross-tab lock. Default 10000. */
  lockTimeoutMs?: number;
  /** Allow plain http token endpoints beyond loopback. Default false. */
  allowInsecureHttp?: boolean;
  /** Allow a client secret or the OAuth password grant in a browser page or browser worker. Default false. */
  allowConfidentialInBrowser?: boolean;
  /** The fetch to use (tests, custom agents). Default: the global fetch. */
  fetch?: (input: Request | string | URL, init?: RequestInit) => Promise<Response>;
  /** The clock, epoch ms (tests). Default: Date.now. */
  now?: () => number;
}

/**
 * An ECDSA P-256 `CryptoKeyPair` (WebCrypto), spelled out so that the types
 * need no DOM library: Node's types have no `CryptoKeyPair` global.
 */
export interface DpopKeyPair {
  /** The private `CryptoKey` (ECDSA P-256, usage `sign`), which may be non-extractable. */
  privateKey: object;
  /** The public `CryptoKey`; its JWK goes into each proof. */
  publicKey: object;
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

/**
 * What `login` takes: a username and password (the password grant, or a
 * JSON profile's login), an authorization code obtained elsewhere with its
 * PKCE verifier, a token exchange, or nothing (no argument or `{}`) for the
 * client credentials grant.
 */
export type Credentials =
  | {
      /** The resource owner's username. */
      username: string;
      /** Their password: sent with the login request only, never stored. */
      password: string;
    }
  | {
      /** The authorization code from the redirect back. */
      code: string;
      /** The PKCE code verifier of the authorization request (RFC 7636). */
      codeVerifier: string;
      /** The redirect URI the authorization request used. */
      redirectUri: string;
    }
  | TokenExchangeParams
  | Record<string, never>;

/** A token exchange (RFC 8693): `login` keeps the result as the session, `exchangeToken` returns it once. */
export interface TokenExchangeParams {
  /** The token to exchange: whom the new token is for. */
  subjectToken: string;
  /** e.g. `urn:ietf:params:oauth:token-type:access_token`. */
  subjectTokenType: string;
  /** A token of the party that acts for the subject (delegation). */
  actorToken?: string;
  /** The type of `actorToken`; required with it. */
  actorTokenType?: string;
  /** Logical names of the services the token is for. */
  audience?: string | string[];
  /** Absolute URIs of the resources the token is for. */
  resource?: string | string[];
  /** Default: the profile's. */
  scope?: string;
  /** The type of token wanted, e.g. `urn:ietf:params:oauth:token-type:access_token`; default: the server's choice. */
  requestedTokenType?: string;
}

/** What `exchangeToken` resolves to. */
export interface ExchangedToken {
  /** The issued token. */
  accessToken: string;
  /** Its type, as the server said (`issued_token_type`). */
  issuedTokenType?: string;
  /** Seconds, as the server said. */
  expiresIn?: number;
  /** The granted scope, when the server said. */
  scope?: string;
}

/** The device flow's codes, as `startDeviceLogin` and the `devicecode` event give them. */
export interface DeviceCodes {
  /** The code the user enters. */
  userCode: string;
  /** Where they enter it. */
  verificationUri: string;
  /** The same with the code in it, when the server gave one (for a QR code). */
  verificationUriComplete?: string;
  /** When the codes expire, epoch ms. */
  expiresAt: number;
  /** The current wait between polls, ms. */
  interval: number;
}

/** A secret-free view of the session: `keeper.state`. */
export interface TokenKeeperState {
  /** `"loggedOut"`: no tokens (never logged in, or logged out); `"active"`: tokens are held; `"ended"`: a new login is needed. */
  status: 'loggedOut' | 'active' | 'ended';
  /**
   * Why the session ended: `"invalid_grant"`, `"rejected"` (400 or 401 on
   * refresh without `invalid_grant`), `"refresh_token_expired"`,
   * `"access_token_expired"` (and nothing could renew it) or
   * `"cleared_elsewhere"` (another tab or worker cleared the shared
   * storage); null while it has not ended.
   */
  endedReason: string | null;
  /** Whether a login or refresh is in flight. */
  busy: boolean;
  /** Access token expiry, epoch ms. */
  expiresAt: number | null;
  /** Refresh token expiry, epoch ms. */
  refreshExpiresAt: number | null;
  /** When the next refresh (or retry) is planned, epoch ms. */
  refreshAt: number | null;
  /** The granted scope. */
  scope: string | null;
  /** The access token's JWT claims, NOT verified: for display only. */
  claims: Record<string, unknown> | null;
}

/**
 * The `code` of a {@link TokenKeeperError}, stable across versions:
 * `OAUTH_*` where oauth4webapi has a code of the same meaning, `AUTH_*`
 * otherwise. Any other string is allowed, for the codes of
 * {@link RedirectErrorCode}, of `tokenkeeper/worker` and of later versions.
 */
export type ErrorCode =
  /** An option or argument is invalid; the message names it. */
  | 'AUTH_CONFIG'
  /** A request failed before any response (fetch rejected). Transient. */
  | 'AUTH_NETWORK'
  /** A token request took longer than `requestTimeoutMs`. Transient. */
  | 'AUTH_TIMEOUT'
  /** A token request was aborted before its answer (an `AbortError` from `fetch`). */
  | 'AUTH_ABORTED'
  /** There is no session: log in first. */
  | 'AUTH_NO_SESSION'
  /** The session has no refresh token to renew the access token with. */
  | 'AUTH_NO_REFRESH_TOKEN'
  /** The session ended (see `state.endedReason`); a new login is needed. */
  | 'AUTH_SESSION_ENDED'
  /** A renewal is not allowed yet (backoff after a failure); `retryIn` says when. Transient. */
  | 'AUTH_RETRY_LATER'
  /** The server answered 429 Too Many Requests. Transient. */
  | 'AUTH_RATE_LIMITED'
  /** The server answered 408 or 5xx. Transient. */
  | 'AUTH_SERVER_UNAVAILABLE'
  /** The token store failed; the keeper carries on in memory. Transient. */
  | 'AUTH_STORAGE'
  /** The stored session is not in a format this version reads. */
  | 'AUTH_STORAGE_FORMAT'
  /** The cross-tab lock was not granted within `lockTimeoutMs`. Transient. */
  | 'AUTH_LOCK_TIMEOUT'
  /** `fetch` was asked to send the token to an origin outside `allowedOrigins`; nothing was sent. */
  | 'AUTH_ORIGIN_NOT_ALLOWED'
  /** Importing a browser entry: the page's Content Security Policy blocked the WebAssembly module (allow `script-src 'self' 'wasm-unsafe-eval'`). */
  | 'AUTH_WASM_BLOCKED'
  /** `tokenkeeper/init`: a TokenKeeper built, or `version()` called, before `initialize()` resolved. */
  | 'AUTH_NOT_INITIALIZED'
  /** `startDeviceLogin`: the codes expired before the user approved them. */
  | 'AUTH_DEVICE_CODE_EXPIRED'
  /** `dpop`: the key could not be made or used (no WebCrypto ES256, a key pair that is not P-256). */
  | 'AUTH_DPOP_PROOF'
  /** `dpop`: the token endpoint answered a `token_type` other than `DPoP` to a proof (or `DPoP` without one). */
  | 'AUTH_DPOP_TOKEN_TYPE'
  /** A success answer whose `Content-Type` is not JSON. */
  | 'OAUTH_RESPONSE_IS_NOT_JSON'
  /** An answer whose body is not well-formed JSON. */
  | 'OAUTH_PARSE_ERROR'
  /** A success answer that is not a conformant token response (RFC 6749 §5.1); the message names the member at fault. */
  | 'OAUTH_INVALID_RESPONSE'
  /** A value the client does not support, e.g. a `token_type` other than `Bearer` (RFC 6749 §7.1). */
  | 'OAUTH_UNSUPPORTED_OPERATION'
  /** An OAuth error answer (RFC 6749 §5.2): `error`, `error_description` and `status` say which. */
  | 'OAUTH_RESPONSE_BODY_ERROR'
  /** An unexpected HTTP status without an OAuth error body; redirects are never followed. */
  | 'OAUTH_RESPONSE_IS_NOT_CONFORM'
  /** The codes of {@link RedirectErrorCode}, of `tokenkeeper/worker`, and of later versions. */
  | (string & {});

/** An Error with a stable `code`; never carries a token, password or secret. */
export class TokenKeeperError extends Error {
  /** Always `"TokenKeeperError"`. */
  readonly name: 'TokenKeeperError';
  /** What went wrong, for programs to match on. */
  readonly code: ErrorCode;
  /** The HTTP status behind the error, if any. */
  readonly status?: number;
  /** The server's OAuth `error` (RFC 6749 §5.2). */
  readonly error?: string;
  /** The server's `error_description`, truncated. */
  readonly error_description?: string;
  /** Whether trying again later may succeed. */
  readonly transient: boolean;
  /** With a transient error while a retry is planned (always with `AUTH_RETRY_LATER`): milliseconds until the next attempt. */
  readonly retryIn?: number;
}

/**
 * The events a keeper dispatches, by type, with their `detail`. No detail
 * holds a token, a password or a secret.
 */
export interface TokenKeeperEventMap {
  /** A login succeeded. */
  login: CustomEvent<Record<string, never>>;
  /** A login failed; the session is as it was. */
  loginfailed: CustomEvent<{
    /** Why. */
    error: TokenKeeperError;
  }>;
  /** A refresh request is on its way. */
  refreshing: CustomEvent<Record<string, never>>;
  /** New tokens arrived from a refresh. */
  refreshed: CustomEvent<{
    /** Whether a new refresh token replaced the old one. */
    rotated: boolean;
  }>;
  /**
   * A refresh failed: `detail.retryIn` is the milliseconds until the
   * planned retry, null when none is planned; `sessionended` follows when
   * the session cannot go on.
   */
  refreshfailed: CustomEvent<{
    /** Why. */
    error: TokenKeeperError;
    /** Whether trying again later may succeed. */
    transient: boolean;
    /** Milliseconds until the planned retry; null when none is planned. */
    retryIn: number | null;
  }>;
  /** The session ended for good; a new login is needed. `detail.reason` is as `state.endedReason`. Dispatched once. */
  sessionended: CustomEvent<{
    /** Why, as `state.endedReason`. */
    reason: string;
  }>;
  /** Tokens were adopted from storage: by `restore()`, or after another tab refreshed them. */
  restored: CustomEvent<Record<string, never>>;
  /** The app logged out; storage is cleared. */
  logout: CustomEvent<Record<string, never>>;
  /** A token was revoked at `revocationUrl` (RFC 7009). */
  revoked: CustomEvent<Record<string, never>>;
  /** Revocation failed; the token may still be live at the server. The local logout completed anyway. */
  revocationfailed: CustomEvent<{
    /** Why. */
    error: TokenKeeperError;
  }>;
  /**
   * The token store failed, and the keeper carries on in memory for the
   * rest of its life: `detail.storage` names the store and `detail.code` is
   * `"AUTH_STORAGE"`; or `detail.error` is the error of a session operation
   * on the store.
   */
  storageerror: CustomEvent<{
    /** Why, when a session operation failed on the store. */
    error?: TokenKeeperError;
    /** `"AUTH_STORAGE"`, when the store itself failed. */
    code?: string;
    /** The store that failed: `"sessionStorage"`, `"localStorage"` or `"adapter"`. */
    storage?: string;
  }>;
  /** The device flow's codes to show the user, as `startDeviceLogin` resolves to them. */
  devicecode: CustomEvent<DeviceCodes>;
}

/**
 * The options of `addEventListener` and `removeEventListener`, as the DOM's
 * `AddEventListenerOptions`; spelled out here so that the types need no DOM
 * library (Node with `@types/node`, Workers with `@cloudflare/workers-types`).
 */
export interface ListenerOptions {
  /** As the DOM's: a listener added with it is removed only with it. */
  capture?: boolean;
  /** Remove the listener after its first call. */
  once?: boolean;
  /** The listener does not call `preventDefault()`. */
  passive?: boolean;
  /** Remove the listener when this aborts. */
  signal?: AbortSignal;
}

/** A listener for any event type: a function or an object with `handleEvent`. */
export type Listener =
  | ((event: Event) => unknown)
  | {
      /** Called with each event. */
      handleEvent(event: Event): unknown;
    };

/** Keeps one session logged in and hands out valid access tokens. */
export class TokenKeeper extends EventTarget {
  /** Checks the options (`AUTH_CONFIG` names the one at fault); the keeper starts logged out, see `restore()`. */
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
   * fetch with `Authorization: Bearer <token>` (with `dpop`:
   * `Authorization: DPoP <token>` and a `DPoP` proof, sent once more with
   * a new proof when the server asks for a nonce) and the profile's
   * `apiHeaders` (replacing the caller's headers of those names), for
   * `allowedOrigins` only: another origin rejects with
   * `AUTH_ORIGIN_NOT_ALLOWED` and nothing is sent. An answer that means the
   * token was not accepted (`rejectStatuses`, default 401, or
   * `isRejected`) leads to one renewal (none when another call already
   * renewed the token) and one retry with the body replayed; when no newer
   * token could be had, that answer is returned. Redirects are not
   * followed (`redirect: "manual"`). Aborting the request's signal also
   * ends its wait for a refresh.
   */
  fetch(input: Request | string | URL, init?: RequestInit, options?: AccessTokenOptions): Promise<Response>;
  /**
   * The device authorization grant (RFC 8628): resolves to the codes to
   * show, with `complete`, which resolves once the user approved them (the
   * keeper is then logged in) and rejects when they denied them, the codes
   * expired or `signal` aborted.
   */
  startDeviceLogin(options?: {
    /** Default: the profile's `scope`. */
    scope?: string;
    /** Stops polling when it aborts; `complete` then rejects with `signal.reason`. */
    signal?: AbortSignal;
  }): Promise<
    DeviceCodes & {
      /** Resolves once the user approved the codes and the keeper is logged in. */
      complete: Promise<void>;
    }
  >;
  /** A token exchange (RFC 8693) answered once; the session is untouched. */
  exchangeToken(params: TokenExchangeParams): Promise<ExchangedToken>;
  /** Stops timers and listeners. */
  close(): void;

  /** Calls `listener` with each event of `type`, typed by {@link TokenKeeperEventMap}. */
  addEventListener<K extends keyof TokenKeeperEventMap>(
    type: K,
    listener: (this: TokenKeeper, ev: TokenKeeperEventMap[K]) => unknown,
    options?: boolean | ListenerOptions,
  ): void;
  /** Calls `listener` with each event of `type`. */
  addEventListener(type: string, listener: Listener | null, options?: boolean | ListenerOptions): void;
  /** Removes a listener that `addEventListener` added. */
  removeEventListener<K extends keyof TokenKeeperEventMap>(
    type: K,
    listener: (this: TokenKeeper, ev: TokenKeeperEventMap[K]) => unknown,
    options?: boolean | Pick<ListenerOptions, 'capture'>,
  ): void;
  /** Removes a listener that `addEventListener` added. */
  removeEventListener(type: string, listener: Listener | null, options?: boolean | Pick<ListenerOptions, 'capture'>): void;
}

/** The package version. */
export function version(): string;

// ---- Redirect login: authorization code + PKCE, OpenID Connect --------
// Declarations merge into the OAuth2Profile interface and the TokenKeeper
// class above.

export interface OAuth2Profile {
  /** Issuer identifier: the ID token's `iss` and a callback's `iss` (RFC 9207) must equal it. */
  issuer?: string;
  /**
   * Refuse a callback without `iss` (RFC 9207 §2.4). `discover()` sets it
   * from the metadata's `authorization_response_iss_parameter_supported`.
   * Needs `issuer`. Default false.
   */
  requireIss?: boolean;
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
  /** An oauth2 profile whose `issuer` is required and whose endpoints may be left out. */
  profile: Omit<OAuth2Profile, 'tokenUrl' | 'issuer'> & {
    /** The issuer identifier; its discovery document is at `${issuer}/.well-known/openid-configuration`. */
    issuer: string;
    /** Default: the metadata's `token_endpoint`. */
    tokenUrl?: string;
  };
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
  /**
   * Completes the login from the callback URL (default: `location.href`);
   * the session is unchanged on failure. A callback that carries the
   * pending login's `state` uses it up, error or not. A second call with
   * the same callback while the first runs joins it: the code is sent once.
   */
  handleRedirect(url?: string | URL): Promise<RedirectResult>;
}

export declare namespace TokenKeeper {
  /** Fetches `${issuer}/.well-known/openid-configuration`, validates it, and builds a keeper from it. */
  function discover(options: DiscoveryOptions): Promise<TokenKeeper>;
}
