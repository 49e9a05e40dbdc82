// The TokenKeeper class: an EventTarget over the wasm KeeperCore.
//
// What lives here and not in Rust: the current token cached on the JS side
// (a cached lookup never crosses into wasm), the EventTarget, and the
// authenticated fetch wrapper. Every decision (what to send, how to read
// the answer, when to refresh) stays in the core.
import { KeeperCore, version } from './tokenkeeper.js';

export { version };

/** An Error with a stable `code`; never carries a token, password or secret. */
export class TokenKeeperError extends Error {
  constructor(message, { code, status, error, error_description, transient = false, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TokenKeeperError';
    this.code = code;
    if (status !== undefined) this.status = status;
    if (error !== undefined) this.error = error;
    if (error_description !== undefined) this.error_description = error_description;
    this.transient = transient;
  }
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

const Ev = typeof CustomEvent === 'function' ? CustomEvent : null;

function makeEvent(type, detail) {
  if (Ev) return new Ev(type, { detail });
  const ev = new Event(type);
  Object.defineProperty(ev, 'detail', { value: detail });
  return ev;
}

/** The origins a token may be sent to by `keeper.fetch`. */
function allowedOrigins(options) {
  const list = options.allowedOrigins;
  const out = new Set();
  if (list !== undefined) {
    if (!Array.isArray(list)) {
      throw new TokenKeeperError('"allowedOrigins" must be an array of origins', { code: 'AUTH_CONFIG' });
    }
    for (const o of list) {
      let origin;
      try {
        origin = new URL(o).origin;
      } catch {
        origin = 'null';
      }
      if (typeof o !== 'string' || origin === 'null') {
        throw new TokenKeeperError('"allowedOrigins" entries must be absolute http(s) origins', { code: 'AUTH_CONFIG' });
      }
      out.add(origin);
    }
    return out;
  }
  // Default: this page's own origin, and the identity provider's.
  const here = globalThis.location?.origin;
  if (here && here !== 'null') out.add(here);
  const p = options.profile ?? {};
  for (const u of [p.tokenUrl, p.loginUrl, p.refreshUrl]) {
    try {
      if (u) out.add(new URL(u).origin);
    } catch {
      // The core reports invalid URLs with the field name.
    }
  }
  return out;
}

/**
 * Keeps one session logged in: logs in, stores the tokens, refreshes them
 * ahead of expiry and hands out valid access tokens.
 */
export class TokenKeeper extends EventTarget {
  #core;
  #now;
  #fetch;
  #origins;
  #token = null;
  #freshUntil = 0;

  constructor(options) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new TokenKeeperError('"options" must be an object', { code: 'AUTH_CONFIG' });
    }
    this.#origins = allowedOrigins(options);
    this.#now = typeof options.now === 'function' ? options.now : Date.now;
    this.#fetch = typeof options.fetch === 'function' ? options.fetch : (...a) => globalThis.fetch(...a);
    try {
      this.#core = new KeeperCore(options, (type, detail) => this.#emit(type, detail));
    } catch (e) {
      throw wrap(e);
    }
  }

  #emit(type, detail) {
    if (type !== 'refreshing' && type !== 'refreshfailed') this.#forget();
    if (detail.error) detail.error = wrap(detail.error);
    this.dispatchEvent(makeEvent(type, detail));
  }

  #forget() {
    this.#token = null;
    this.#freshUntil = 0;
  }

  /** Loads a stored session; resolves to whether one is active. */
  restore() {
    return guarded(() => this.#core.restore());
  }

  /**
   * Logs in with `{ username, password }`, with an authorization code
   * `{ code, codeVerifier, redirectUri }`, or with nothing for the client
   * credentials grant.
   */
  login(credentials) {
    return guarded(() => this.#core.login(credentials));
  }

  /** A valid access token, refreshing first when due. */
  accessToken() {
    if (this.#token !== null && this.#now() < this.#freshUntil) {
      return Promise.resolve(this.#token);
    }
    return guarded(async () => {
      const token = await this.#core.accessToken();
      this.#token = token;
      this.#freshUntil = this.#core.freshUntil();
      return token;
    });
  }

  /** Refreshes now (unless another tab just did). */
  refresh() {
    return guarded(() => this.#core.refresh());
  }

  /** Logs out: clears storage, revokes the token where configured. */
  logout() {
    this.#forget();
    return guarded(() => this.#core.logout());
  }

  /** A secret-free view: status, expiresAt, refreshExpiresAt, scope, claims. */
  get state() {
    return this.#core.state();
  }

  /**
   * `fetch` with `Authorization: Bearer` attached, for allowed origins only.
   * A 401 leads to one refresh and one retry (the body is replayed from a
   * clone). Redirects are never followed with the token: a redirect comes
   * back to the caller as it is.
   */
  async fetch(input, init) {
    const request = new Request(input, init);
    const origin = new URL(request.url).origin;
    if (!this.#origins.has(origin)) {
      throw new TokenKeeperError(`"${origin}" is not an allowed origin for the access token`, {
        code: 'AUTH_ORIGIN_NOT_ALLOWED',
      });
    }
    const replay = request.clone();
    const token = await this.accessToken();
    const first = await this.#send(request, token);
    if (first.status !== 401) return first;
    // Renew unless the token already changed meanwhile (a concurrent 401).
    let fresh = await this.accessToken();
    if (fresh === token) {
      try {
        await this.refresh();
        fresh = await this.accessToken();
      } catch {
        return first;
      }
    }
    if (fresh === token) return first;
    return this.#send(replay, fresh);
  }

  #send(request, token) {
    const headers = new Headers(request.headers);
    headers.set('Authorization', `Bearer ${token}`);
    return this.#fetch(new Request(request, { headers, redirect: 'manual' }));
  }

  /** Stops timers and lifecycle listeners; the keeper is unusable after. */
  close() {
    this.#forget();
    this.#core.close();
  }
}
