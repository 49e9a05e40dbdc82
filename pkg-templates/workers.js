// Cloudflare Workers glue, exported by the `workerd`/`worker` entry beside
// TokenKeeper. Plain JavaScript over the public TokenKeeper API: nothing
// here runs at import time, and nothing imports `cloudflare:*`.
//
// - kvStorage(env.KV): a storage adapter over a KV namespace, so every
//   isolate reads the token one of them fetched (client credentials).
// - TokenHolder: a Durable Object base class that owns one session and
//   performs its refreshes, one at a time for the whole account: needed for
//   rotating (single-use) refresh tokens, which KV (eventually consistent)
//   cannot protect from two isolates refreshing at once.
// - durableTokens(env.NS): the isolate-side client of a TokenHolder, with a
//   per-isolate cache and single flight.
import { TokenKeeper, TokenKeeperError } from './keeper.js';

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
 * A Durable Object that holds one session and refreshes it. Subclass it,
 * export the subclass from the Worker and bind it as a Durable Object
 * namespace:
 *
 *   export class ApiTokens extends TokenHolder {
 *     keeperOptions(env) { return { profile: { kind: 'json', … } }; }
 *     credentials(env) { return { username: env.USER, password: env.PASSWORD }; }
 *   }
 *
 * It logs in on first use (and again after the session ended), keeps the
 * tokens in its own storage, and answers `POST /token` and `POST /refresh`
 * (used by `durableTokens`). Being one object, it serialises every refresh.
 */
export class TokenHolder {
  #keeper = null;
  #ready = null;

  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }

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

  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (request.method !== 'POST' || (path !== '/token' && path !== '/refresh')) {
      return Response.json({ code: 'AUTH_CONFIG', message: 'POST /token or /refresh' }, { status: 404 });
    }
    try {
      const body = path === '/refresh' ? await request.json() : {};
      return Response.json(await this.#token(typeof body.stale === 'string' ? body.stale : undefined));
    } catch (e) {
      const { code = 'AUTH_INVALID_RESPONSE', status, error, error_description, transient = false } = e ?? {};
      return Response.json(
        { message: String(e?.message ?? e), code, status, error, error_description, transient },
        { status: 502 },
      );
    }
  }
}

/**
 * The isolate-side client of a TokenHolder in `namespace` (the object named
 * `name`): `accessToken({ waitUntil })`, `refresh(stale)` and
 * `fetch(input, init, { waitUntil })` with one retry on 401. Create it once
 * per isolate (module scope, lazily): its cache and single flight are
 * per isolate.
 */
export function durableTokens(namespace, { name = 'tokenkeeper', now = Date.now } = {}) {
  let held = null; // { accessToken, freshUntil, expiresAt }
  let flight = null;
  const ask = (path, body) => {
    flight ??= (async () => {
      const stub = namespace.get(namespace.idFromName(name));
      const res = await stub.fetch(`https://token-holder${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      });
      const answer = await res.json().catch(() => null);
      if (answer === null) {
        throw new TokenKeeperError(`the token holder answered ${res.status} without JSON`, {
          code: 'AUTH_RESPONSE_IS_NOT_JSON',
          status: res.status,
          transient: true,
        });
      }
      if (!res.ok) throw new TokenKeeperError(answer.message, answer);
      held = answer;
      return answer.accessToken;
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
      if (flight === null) waitUntil(ask('/token').catch(() => undefined));
      return Promise.resolve(held.accessToken);
    }
    return ask('/token');
  };
  /** A token other than `stale`: joins a request in flight, else asks the holder to refresh. */
  const refresh = async (stale) => {
    if (flight !== null) {
      const current = await flight.catch(() => null);
      if (current !== null && current !== stale) return current;
    }
    return ask('/refresh', { stale });
  };
  return {
    accessToken,
    refresh,
    /** `fetch` with `Authorization: Bearer`; after a 401, one refresh and one retry. */
    async fetch(input, init, options) {
      const request = new Request(input, init);
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
