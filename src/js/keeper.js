// The TokenKeeper class: an EventTarget over the wasm KeeperCore.
//
// What lives here and not in Rust: the current token cached on the JS side
// (a cached lookup never crosses into wasm), the EventTarget, and the
// authenticated fetch wrapper. Every decision (what to send, how to read
// the answer, when to refresh) stays in the core.
import { KeeperCore, version, discoverProvider } from './tokenkeeper.js';

export { version };

/** An Error with a stable `code`; never carries a token, password or secret. */
export class TokenKeeperError extends Error {
  constructor(message, { code, status, error, error_description, transient = false, retryIn, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TokenKeeperError';
    this.code = code;
    if (status !== undefined) this.status = status;
    if (error !== undefined) this.error = error;
    if (error_description !== undefined) this.error_description = error_description;
    this.transient = transient;
    if (retryIn !== undefined) this.retryIn = retryIn;
  }
}

/** Freezes a JSON value and everything in it (the state is shared between reads). */
function deepFreeze(value) {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Re-creates an error thrown by the core as a TokenKeeperError. */
function wrap(e) {
  if (e instanceof TokenKeeperError || !e || typeof e.code !== 'string') return e;
  return new TokenKeeperError(e.message, e);
}

/** Runs `f`, rethrowing core errors as TokenKeeperError. */
async function guarded(f) {
  try {
    return await f();
  } catch (e) {
    throw wrap(e);
  }
}

/**
 * With `accessToken({ waitUntil })`, how long a token that is due for
 * refresh must stay valid to be returned before the refresh completes.
 */
const AHEAD_MARGIN_MS = 2000;

const Ev = typeof CustomEvent === 'function' ? CustomEvent : null;

function makeEvent(type, detail) {
  if (Ev) return new Ev(type, { detail });
  const ev = new Event(type);
  Object.defineProperty(ev, 'detail', { value: detail });
  return ev;
}

/**
 * Keeps one session logged in: logs in, stores the tokens, refreshes them
 * ahead of expiry and hands out valid access tokens.
 */
export class TokenKeeper extends EventTarget {
  #core;
  #now;
  #fetch;
  #token = null;
  #freshUntil = 0;
  #expiresAt = 0;
  /** The last state read from the core, until the next change. */
  #state = null;
  /** A refresh running under a caller's `waitUntil`. */
  #background = null;

  constructor(options) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new TokenKeeperError('"options" must be an object', { code: 'AUTH_CONFIG' });
    }
    this.#now = typeof options.now === 'function' ? options.now : Date.now;
    this.#fetch = typeof options.fetch === 'function' ? options.fetch : (...a) => globalThis.fetch(...a);
    try {
      this.#core = new KeeperCore(options, (type, detail) => this.#emit(type, detail));
    } catch (e) {
      throw wrap(e);
    }
    this.#pending = TokenKeeper.#pendingStore(options, `${this.#core.storageKey}.redirect`);
  }

  #emit(type, detail) {
    this.#state = null;
    if (type !== 'refreshing' && type !== 'refreshfailed') this.#forget();
    if (detail.error) detail.error = wrap(detail.error);
    this.dispatchEvent(makeEvent(type, detail));
  }

  #forget() {
    this.#token = null;
    this.#freshUntil = 0;
    this.#expiresAt = 0;
  }

  /** Runs a core call; the cached state is dropped before and after it. */
  #call(f) {
    this.#state = null;
    return guarded(f).finally(() => (this.#state = null));
  }

  /** Loads a stored session; resolves to whether one is active. */
  restore() {
    return this.#call(() => this.#core.restore());
  }

  /**
   * Logs in with `{ username, password }`, with an authorization code
   * `{ code, codeVerifier, redirectUri }`, or with nothing for the client
   * credentials grant.
   */
  login(credentials) {
    return this.#call(() => this.#core.login(credentials));
  }

  /**
   * A valid access token, refreshing first when due. With
   * `{ waitUntil }` (a Worker's `ctx.waitUntil.bind(ctx)`), a token that is
   * due for refresh but still valid for `AHEAD_MARGIN_MS` is returned at
   * once and the refresh runs in the background under `waitUntil`. With
   * `{ signal }`, this call rejects with `signal.reason` as soon as the
   * signal aborts (as `fetch` does); a refresh it waits for is shared with
   * other callers and goes on.
   */
  accessToken(options) {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.#now();
    if (this.#token !== null && now < this.#freshUntil) {
      return Promise.resolve(this.#token);
    }
    const token = this.#dueToken(now, options?.waitUntil);
    if (signal == null) return token;
    return new Promise((resolve, reject) => {
      const abort = () => reject(signal.reason);
      signal.addEventListener('abort', abort, { once: true });
      token.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
    });
  }

  /** The token when the held one is due for refresh, or there is none. */
  #dueToken(now, waitUntil) {
    if (typeof waitUntil === 'function' && this.#token !== null && now + AHEAD_MARGIN_MS < this.#expiresAt) {
      // Only the request that starts the refresh waits for it: a promise
      // settled after its own request ended would be cancelled by workerd.
      if (this.#background === null) {
        // Failures are reported as events; the next call tries again.
        this.#background = this.#renew()
          .catch(() => undefined)
          .finally(() => (this.#background = null));
        waitUntil(this.#background);
      }
      return Promise.resolve(this.#token);
    }
    return this.#renew();
  }

  /** Asks the core (which refreshes when due) and caches the answer. */
  #renew() {
    return this.#call(async () => {
      const token = await this.#core.accessToken();
      this.#token = token;
      this.#freshUntil = this.#core.freshUntil();
      this.#expiresAt = this.#core.state().expiresAt ?? Infinity;
      return token;
    });
  }

  /** Until when (epoch ms) `accessToken()` returns the held token without any work; 0 when it holds none. */
  get freshUntil() {
    return this.#token === null ? 0 : this.#freshUntil;
  }

  /** Refreshes now (unless another tab just did). */
  refresh() {
    return this.#call(() => this.#core.refresh());
  }

  /** Logs out: clears storage, revokes the token where configured. */
  logout() {
    this.#forget();
    return this.#call(() => this.#core.logout());
  }

  /** A secret-free view: status, expiresAt, refreshExpiresAt, scope, claims. */
  get state() {
    this.#state ??= deepFreeze(this.#core.state());
    return this.#state;
  }

  /**
   * `fetch` with `Authorization: Bearer <token>` and the profile's
   * `apiHeaders` attached (each replaces a header of the same name the
   * caller set), for allowed origins only: another origin throws
   * `AUTH_ORIGIN_NOT_ALLOWED` before anything is sent. When the core (or
   * the `isRejected` option) says the answer means the token was not
   * accepted, the token is renewed once, or taken as it is when another
   * call already renewed it, and the request is sent once more with it (the
   * body replayed from a clone); when no newer token could be had, the
   * first answer is returned. Redirects are never followed with the token:
   * a redirect comes back to the caller as it is. `options.waitUntil` is
   * passed to `accessToken`, and so is the request's signal: aborting it
   * also ends the wait for a refresh.
   */
  async fetch(input, init, options) {
    const request = new Request(input, init);
    let extra;
    try {
      extra = this.#core.apiHeaders(new URL(request.url).origin);
    } catch (e) {
      throw wrap(e);
    }
    const token = await this.accessToken({ ...options, signal: request.signal });
    const first = await this.#sendOnce(request, token, extra);
    if (!(await this.#core.rejects(first))) return first;
    if (this.#token === token) this.#forget();
    let fresh;
    try {
      fresh = await this.#core.tokenRejected(token);
    } catch {
      // Nothing to retry with (a failed renewal is an event): the caller
      // gets the server's answer.
      return first;
    }
    if (fresh === token) return first;
    first.body?.cancel().catch(() => undefined);
    return this.#sendOnce(request, fresh, extra);
  }

  /**
   * Sends a copy of `request` with the token; with DPoP, once more with a
   * new proof when the resource server asks for a nonce (the core decides).
   */
  async #sendOnce(request, token, extra) {
    // A request without a body can be sent again as it is.
    const copy = () => (request.body === null ? request : request.clone());
    const res = await this.#send(copy(), token, extra);
    if (!this.#core.dpop || !this.#core.nonceRetry(request.url, res)) return res;
    res.body?.cancel().catch(() => undefined);
    return this.#send(copy(), token, extra);
  }

  /**
   * Sends `request` with the token (`Bearer`, or `DPoP` with a proof) and
   * the `[name, value]` pairs of `extra`.
   */
  async #send(request, token, extra) {
    const headers = new Headers(request.headers);
    for (const [name, value] of extra) headers.set(name, value);
    if (this.#core.dpop) {
      let proof;
      try {
        proof = await this.#core.proof(request.method, request.url, token);
      } catch (e) {
        throw wrap(e);
      }
      headers.set('Authorization', `DPoP ${token}`);
      headers.set('DPoP', proof);
    } else {
      headers.set('Authorization', `Bearer ${token}`);
    }
    return this.#fetch(new Request(request, { headers, redirect: 'manual' }));
  }

  /**
   * The device authorization grant (RFC 8628), for devices without a
   * browser or a keyboard: resolves to `{ userCode, verificationUri,
   * verificationUriComplete, expiresAt, interval, complete }` once the
   * server gave the codes, and dispatches them as a `devicecode` event.
   * Show the user the code and the URI; `complete` resolves when they
   * approved it (the keeper is then logged in, as with `login`), and
   * rejects when they denied it (`access_denied`), the codes expired
   * (`AUTH_DEVICE_CODE_EXPIRED`) or `signal` aborted. Polling follows the
   * server's `interval`, 5 s longer after each `slow_down`. While it runs,
   * a Node or Deno process stays alive.
   */
  async startDeviceLogin({ scope, signal } = {}) {
    if (signal?.aborted) throw signal.reason;
    const codes = await this.#call(() => this.#core.deviceAuthorize(scope));
    this.dispatchEvent(makeEvent('devicecode', { ...codes }));
    // A timer that keeps a command-line process alive while it polls.
    const hold = typeof setInterval === 'function' ? setInterval(() => undefined, 2 ** 30) : null;
    const cancel = () => this.#core.deviceCancel();
    signal?.addEventListener('abort', cancel, { once: true });
    let complete = this.#call(() => this.#core.deviceComplete());
    if (signal) {
      const aborted = new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      complete = Promise.race([complete, aborted]);
    }
    complete = complete.finally(() => {
      if (hold !== null) clearInterval(hold);
      signal?.removeEventListener('abort', cancel);
    });
    // The caller awaits it; an unobserved rejection is theirs to see.
    complete.catch(() => undefined);
    return { ...codes, complete };
  }

  /**
   * A token exchange (RFC 8693) answered once, the session untouched:
   * `{ subjectToken, subjectTokenType, actorToken?, actorTokenType?,
   * audience?, resource?, scope?, requestedTokenType? }` → `{ accessToken,
   * issuedTokenType, expiresIn, scope }`. To keep and renew the result as
   * the session instead, pass the same object to `login`.
   */
  exchangeToken(params) {
    return this.#call(() => this.#core.exchangeToken(params));
  }

  // ---- Redirect login: authorization code + PKCE, OpenID Connect --------
  // RFC 6749 §4.1, RFC 7636, OpenID Connect Core §3.1 and Discovery §4.
  // The core builds and checks everything; this block only keeps the
  // pending login between the two page loads and touches the page.

  /** Where a pending redirect login waits: `{ get, set, delete }`. */
  #pending;

  /**
   * The storage adapter when one is given, else `sessionStorage` (one tab,
   * survives the round trip), else this keeper's memory.
   */
  static #pendingStore(options, key) {
    const adapter = options.storage;
    if (adapter !== null && typeof adapter === 'object' && typeof adapter.get === 'function') {
      return { get: () => adapter.get(key), set: (v) => adapter.set(key, v), delete: () => adapter.delete(key) };
    }
    let web = null;
    try {
      web = globalThis.sessionStorage ?? null;
    } catch {
      // A sandboxed frame throws on access: keep the login in memory.
    }
    if (web) {
      return { get: () => web.getItem(key), set: (v) => web.setItem(key, v), delete: () => web.removeItem(key) };
    }
    let held = null;
    return { get: () => held, set: (v) => void (held = v), delete: () => void (held = null) };
  }

  /**
   * Builds the authorization URL (`response_type=code`, PKCE S256, `state`,
   * `nonce`) and stores the pending login. `redirectUri` defaults to the
   * profile's, else this page's origin and path.
   */
  async authorizeUrl(params) {
    const here = globalThis.location;
    const page = here && here.origin && here.origin !== 'null' ? here.origin + here.pathname : undefined;
    const { url, pending } = await guarded(async () => {
      const jkt = this.#core.dpop ? await this.#core.dpopJkt() : undefined;
      const request = this.#core.beginRedirect(params, page, jkt);
      // RFC 9126: the parameters go to the server first, the URL carries
      // only their reference.
      if (this.#core.pushesAuthorization) request.url = await this.#core.pushAuthorization(request.url);
      return request;
    });
    try {
      await this.#pending.set(pending);
    } catch (cause) {
      throw new TokenKeeperError('"storage" could not keep the pending login', { code: 'AUTH_STORAGE', cause });
    }
    return url;
  }

  /** `authorizeUrl(params)`, then navigates there when in a page; resolves to the URL. */
  async loginWithRedirect(params) {
    const url = await this.authorizeUrl(params);
    if (typeof globalThis.document === 'object' && typeof globalThis.location?.assign === 'function') {
      globalThis.location.assign(url);
    }
    return url;
  }

  /**
   * Completes a redirect login from the callback URL (default: this page's):
   * checks `iss` and `state`, exchanges the code, validates the ID token
   * (claims, then signature against the issuer's JWKS), and logs in. Once
   * the state matched (an error response too), the pending login is
   * cleared and the response parameters are removed from the address bar.
   * A second call with the same callback while one runs joins it. Resolves
   * to `{ idTokenClaims }`; on failure the session is unchanged.
   */
  async handleRedirect(url = globalThis.location?.href) {
    if (typeof url !== 'string' && !(url instanceof URL)) {
      throw new TokenKeeperError('"url" must be the callback URL', { code: 'AUTH_CONFIG' });
    }
    const href = String(url);
    let pending;
    try {
      pending = await this.#pending.get();
    } catch {
      pending = undefined;
    }
    const consume = async () => {
      try {
        await this.#pending.delete();
      } catch {
        // A failing store cannot keep the pending login either.
      }
      TokenKeeper.#cleanAddressBar(href);
    };
    return guarded(() => this.#core.completeRedirect(href, typeof pending === 'string' ? pending : undefined, consume));
  }

  /** Removes the authorization response parameters from this page's URL. */
  static #cleanAddressBar(href) {
    const { location, history } = globalThis;
    if (typeof globalThis.document !== 'object' || location?.href !== href || typeof history?.replaceState !== 'function') {
      return;
    }
    const clean = new URL(href);
    for (const p of ['code', 'state', 'iss', 'session_state', 'error', 'error_description', 'error_uri']) {
      clean.searchParams.delete(p);
    }
    history.replaceState(history.state, '', clean.href);
  }

  /**
   * Fetches `${profile.issuer}/.well-known/openid-configuration` (through
   * `options.fetch` when given, no redirects, `requestTimeoutMs`), checks it
   * in the core, and resolves to a keeper whose profile has `tokenUrl`,
   * `authorizationUrl`, `revocationUrl` and `jwksUri` filled in, and
   * `requireIss` from `authorization_response_iss_parameter_supported`
   * (values set in `options.profile` win).
   */
  static async discover(options) {
    if (options === null || typeof options !== 'object') {
      throw new TokenKeeperError('"options" must be an object', { code: 'AUTH_CONFIG' });
    }
    const m = await guarded(() => discoverProvider(options));
    const p = options.profile;
    const found = {
      tokenUrl: m.token_endpoint,
      authorizationUrl: m.authorization_endpoint,
      revocationUrl: m.revocation_endpoint,
      jwksUri: m.jwks_uri,
      deviceAuthorizationUrl: m.device_authorization_endpoint,
      pushedAuthorizationRequestUrl: m.pushed_authorization_request_endpoint,
    };
    const profile = { ...p };
    for (const [k, v] of Object.entries(found)) {
      if (profile[k] === undefined && v !== undefined) profile[k] = v;
    }
    // RFC 9207 §2.4: a provider that says it sends `iss` must send it.
    profile.requireIss ??= m.authorization_response_iss_parameter_supported;
    // RFC 9126 §5: a provider that requires pushed requests gets them.
    if (m.require_pushed_authorization_requests) profile.requirePushedAuthorizationRequests ??= true;
    return new this({ ...options, profile });
  }

  // ---- end of the redirect login block ---------------------------------

  /** Stops timers and lifecycle listeners; the keeper is unusable after. */
  close() {
    this.#forget();
    // A device login still polling stops before its next poll, and its
    // `complete` rejects: it would otherwise poll on, and keep a Node
    // process alive, until its codes expire.
    this.#core.deviceCancel();
    this.#core.close();
  }
}
