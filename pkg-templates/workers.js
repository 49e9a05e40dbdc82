// Cloudflare Workers glue, exported beside TokenKeeper by the Workers entry
// (`tokenkeeper/workers`, and `tokenkeeper` under the `workerd` condition).
// Plain JavaScript over the TokenKeeper API and the core's
// origin policy; nothing here runs at import time. `DurableObject` comes
// from the runtime's own `cloudflare:workers` (left external by the
// package build): Workers RPC reaches the public methods of classes that
// extend it (compatibility date 2024-04-03 or later).
//
// - kvStorage(env.KV): a storage adapter over a KV namespace, so every
//   isolate reads the token one of them fetched (client credentials).
// - TokenHolder: a Durable Object base class that owns one session and
//   performs its refreshes, one at a time for the whole account: needed for
//   rotating (single-use) refresh tokens, which KV (eventually consistent)
//   cannot protect from two isolates refreshing at once. It hands tokens out
//   through RPC only (`token()`, `refresh(stale)`); its HTTP `fetch` answers
//   404, so a request forwarded to the object gets nothing.
// - durableTokens(env.NS, { allowedOrigins }): the isolate-side client of a
//   TokenHolder, with a per-isolate cache and single flight; its `fetch`
//   sends the token to the allowed origins only.
import { DurableObject } from 'cloudflare:workers';
import { TokenKeeper, TokenKeeperError } from './keeper.js';
import { KeeperCore } from './tokenkeeper.js';


/** KV's smallest `expirationTtl`, in seconds. */
const KV_MIN_TTL_S = 60;

/** How long a token must stay valid to be handed out while a refresh runs under `waitUntil`. */
const AHEAD_MARGIN_MS = 2000;

/**
 * A `storage` adapter over a Workers KV namespace. Each write expires with
 * the session it holds: at the refresh token's expiry, else the access
 * token's (at least KV's 60 s; never when neither is known).
 */
export function kvStorage(kv, { now = Date.now } = {}) {
  return {
    get: (key) => kv.get(key),
    set: (key, value) => {
      const ttl = expirationTtl(value, now());
      return kv.put(key, value, ttl === undefined ? {} : { expirationTtl: ttl });
    },
    delete: (key) => kv.delete(key),
  };
}

/** Seconds until the stored session is useless, for KV's `expirationTtl`. */
function expirationTtl(stored, now) {
  let s;
  try {
    s = JSON.parse(stored);
  } catch {
    return undefined;
  }
  const until = s.refreshToken ? s.refreshExpiresAt : s.expiresAt;
  if (typeof until !== 'number') return undefined;
  return Math.max(KV_MIN_TTL_S, Math.ceil((until - now) / 1000));
}

/** A `storage` adapter over a Durable Object's `ctx.storage` (strongly consistent). */
export function durableObjectStorage(storage) {
  return {
    get: async (key) => (await storage.get(key)) ?? null,
    set: (key, value) => storage.put(key, value),
    delete: (key) => storage.delete(key),
  };
}

/**
 * What crosses RPC of an error: Workers RPC keeps an Error's message, not
 * its own properties. An error without a code came from the subclass's own
 * hooks (`keeperOptions`, `credentials`): `AUTH_CONFIG`.
 */
function errorAnswer(e) {
  const { code = 'AUTH_CONFIG', status, error, error_description, transient = false, retryIn } = e ?? {};
  const message = String(e?.message ?? e);
  return { ok: false, error: { message, code, status, error, error_description, transient: transient === true, retryIn } };
}

/** The TokenKeeperError of an error answer. */
function answerError(error) {
  const { message, ...fields } = error;
  for (const k of Object.keys(fields)) if (fields[k] === undefined || fields[k] === null) delete fields[k];
  return new TokenKeeperError(message, fields);
}

/**
 * A Durable Object that holds one session and refreshes it. Subclass it,
 * export the subclass from the Worker and bind it as a Durable Object
 * namespace (compatibility date 2024-04-03 or later, for RPC):
 *
 *   export class ApiTokens extends TokenHolder {
 *     keeperOptions(env) { return { profile: { kind: 'json', … } }; }
 *     credentials(env) { return { username: env.USER, password: env.PASSWORD }; }
 *   }
 *
 * It logs in on first use (and again after the session ended), keeps the
 * tokens in its own storage, and hands them out through the RPC methods
 * `token()` and `refresh(stale)` (used by `durableTokens`), each resolving
 * to `{ ok: true, accessToken, freshUntil, expiresAt }` or `{ ok: false,
 * error }` (the error's fields, which RPC would drop from a thrown
 * TokenKeeperError). Being one object, it serialises every refresh. Its
 * HTTP `fetch` answers 404 to every request: a Worker that forwards a
 * request to the object (`stub.fetch(request)`) publishes no token.
 */
export class TokenHolder extends DurableObject {
  #keeper = null;
  #ready = null;

  /** The TokenKeeper options (`storage` and `autoRefresh` are set here). Override. */
  keeperOptions(_env) {
    throw new TokenKeeperError('TokenHolder subclasses must define keeperOptions(env)', { code: 'AUTH_CONFIG' });
  }

  /** The login credentials; none for the client credentials grant. Override when needed. */
  credentials(_env) {
    return undefined;
  }

  /** The keeper, logged in once even when requests arrive together. */
  #session() {
    if (this.#keeper === null) {
      this.#keeper = new TokenKeeper({
        ...this.keeperOptions(this.env),
        storage: durableObjectStorage(this.ctx.storage),
        autoRefresh: false,
      });
    }
    this.#ready ??= (async () => {
      const keeper = this.#keeper;
      if (!(await keeper.restore())) await keeper.login(this.credentials(this.env));
      return keeper;
    })().catch((e) => {
      this.#ready = null;
      throw e;
    });
    return this.#ready;
  }

  /** A token and how long callers may cache it; logs in again once if the session ended. */
  async #token(stale) {
    for (let attempt = 0; ; attempt++) {
      const keeper = await this.#session();
      try {
        let token = await keeper.accessToken();
        if (stale !== undefined && token === stale) {
          await keeper.refresh();
          token = await keeper.accessToken();
        }
        return { accessToken: token, freshUntil: keeper.freshUntil, expiresAt: keeper.state.expiresAt ?? null };
      } catch (e) {
        if (attempt > 0 || keeper.state.status === 'active') throw e;
        this.#ready = null;
      }
    }
  }

  /** #token as an RPC answer: errors as their fields. */
  async #answer(stale) {
    try {
      return { ok: true, ...(await this.#token(stale)) };
    } catch (e) {
      return errorAnswer(e);
    }
  }

  /** RPC: a valid token → `{ ok: true, accessToken, freshUntil, expiresAt }`, or `{ ok: false, error }`. */
  token() {
    return this.#answer(undefined);
  }

  /** RPC: a token other than `stale` (the held one is refreshed when it is `stale`); answers as `token()`. */
  refresh(stale) {
    return this.#answer(typeof stale === 'string' ? stale : undefined);
  }

  /** HTTP: nothing. Tokens go out through RPC only. */
  async fetch(_request) {
    return new Response('not found\n', { status: 404, headers: { 'content-type': 'text/plain' } });
  }
}

/**
 * A profile the origin policy is built with and that nothing is ever sent
 * to: with `allowedOrigins` set, the core ignores the profile's endpoints.
 */
const POLICY_PROFILE = { kind: 'oauth2', tokenUrl: 'https://token-holder.invalid/', clientId: 'durable-tokens' };

/** A core error (or anything else) as a TokenKeeperError. */
function typed(e) {
  if (e instanceof TokenKeeperError || !e || typeof e.code !== 'string') return e;
  return new TokenKeeperError(e.message, e);
}

/**
 * `check(url)`: throws `AUTH_ORIGIN_NOT_ALLOWED` unless the URL's origin is
 * in `allowedOrigins`, decided by the core exactly as for `keeper.fetch`
 * (entries serialised as `URL.origin`, `http:` only on loopback or with
 * `allowInsecureHttp`; a malformed entry throws `AUTH_CONFIG` here). Without
 * `allowedOrigins`, every URL is refused.
 */
function originCheck(allowedOrigins, allowInsecureHttp) {
  if (allowedOrigins === undefined) {
    return () => {
      throw new TokenKeeperError(
        'durableTokens(namespace, { allowedOrigins }) sends the token to no origin until allowedOrigins lists ' +
          "the API's origins, e.g. ['https://api.example']",
        { code: 'AUTH_ORIGIN_NOT_ALLOWED' },
      );
    };
  }
  let core;
  try {
    core = new KeeperCore(
      { profile: POLICY_PROFILE, allowedOrigins, allowInsecureHttp, storage: 'memory', autoRefresh: false },
      () => undefined,
    );
  } catch (e) {
    throw typed(e);
  }
  return (url) => {
    try {
      core.apiHeaders(new URL(url).origin);
    } catch (e) {
      throw typed(e);
    }
  };
}

/**
 * The isolate-side client of a TokenHolder in `namespace` (the object named
 * `name`): `accessToken({ waitUntil })`, `refresh(stale)` and
 * `fetch(input, init, { waitUntil })` with one retry on 401, which sends the
 * token to `allowedOrigins` only (another origin, or any without the
 * option, throws `AUTH_ORIGIN_NOT_ALLOWED` before anything is sent) and
 * follows no redirect. Create it once per isolate (module scope, lazily):
 * its cache and single flight are per isolate.
 */
export function durableTokens(namespace, options = {}) {
  const { name = 'tokenkeeper', now = Date.now, allowedOrigins, allowInsecureHttp } = options;
  const check = originCheck(allowedOrigins, allowInsecureHttp);
  let held = null; // { accessToken, freshUntil, expiresAt }
  let flight = null;
  const ask = (stale) => {
    flight ??= (async () => {
      const stub = namespace.get(namespace.idFromName(name));
      let answer;
      try {
        answer = await (stale === undefined ? stub.token() : stub.refresh(stale));
      } catch (e) {
        // The call itself failed (the holder answers its own errors).
        throw new TokenKeeperError(`the token holder could not be reached: ${String(e?.message ?? e)}`, {
          code: 'AUTH_NETWORK',
          transient: e?.retryable === true,
          cause: e,
        });
      }
      if (answer?.ok === false && answer.error && typeof answer.error.code === 'string') {
        throw answerError(answer.error);
      }
      if (answer?.ok !== true || typeof answer.accessToken !== 'string') {
        throw new TokenKeeperError('the token holder gave no token: is the bound class a TokenHolder?', {
          code: 'OAUTH_INVALID_RESPONSE',
        });
      }
      const { accessToken, freshUntil, expiresAt } = answer;
      held = { accessToken, freshUntil, expiresAt };
      return accessToken;
    })().finally(() => {
      flight = null;
    });
    return flight;
  };
  const accessToken = (options) => {
    const t = now();
    if (held !== null && t < held.freshUntil) return Promise.resolve(held.accessToken);
    const waitUntil = options?.waitUntil;
    if (typeof waitUntil === 'function' && held !== null && t + AHEAD_MARGIN_MS < (held.expiresAt ?? Infinity)) {
      // Only the request that starts the refresh waits for it (see keeper.js).
      if (flight === null) waitUntil(ask().catch(() => undefined));
      return Promise.resolve(held.accessToken);
    }
    return ask();
  };
  /** A token other than `stale`: joins a request in flight, else asks the holder to refresh. */
  const refresh = async (stale) => {
    if (flight !== null) {
      const current = await flight.catch(() => null);
      if (current !== null && current !== stale) return current;
    }
    return ask(typeof stale === 'string' ? stale : undefined);
  };
  return {
    accessToken,
    refresh,
    /**
     * `fetch` with `Authorization: Bearer`, to allowed origins only; after a
     * 401, one refresh and one retry. A redirect comes back as it is.
     */
    async fetch(input, init, options) {
      const request = new Request(input, init);
      check(request.url);
      const replay = request.clone();
      const send = (req, token) => {
        const headers = new Headers(req.headers);
        headers.set('Authorization', `Bearer ${token}`);
        return fetch(new Request(req, { headers, redirect: 'manual' }));
      };
      const token = await accessToken(options);
      const first = await send(request, token);
      if (first.status !== 401) return first;
      const fresh = await refresh(token);
      return fresh === token ? first : send(replay, fresh);
    },
  };
}
