// Types of the Workers helpers (`tokenkeeper/workers`, and `tokenkeeper` under
// the `workerd` condition).
import type { AccessTokenOptions, Credentials, StorageAdapter, TokenKeeperOptions } from './keeper.js';

/** The part of a Workers KV namespace binding that `kvStorage` uses. */
export interface KVNamespaceLike {
  /** The value stored under `key`, or null. */
  get(key: string): Promise<string | null>;
  /** Stores `value` under `key`; `expirationTtl` in seconds. */
  put(
    key: string,
    value: string,
    options?: {
      /** Seconds until KV drops the value (at least 60). */
      expirationTtl?: number;
    },
  ): Promise<void>;
  /** Removes `key`. */
  delete(key: string): Promise<void>;
}

/** A storage adapter over Workers KV; each write expires with the session it holds (at least 60 s). */
export function kvStorage(kv: KVNamespaceLike, options?: { now?: () => number }): StorageAdapter;

/** The part of a Durable Object's `ctx.storage` that `durableObjectStorage` uses. */
export interface DurableObjectStorageLike {
  /** The value stored under `key`, or undefined. */
  get(key: string): Promise<unknown>;
  /** Stores `value` under `key`. */
  put(key: string, value: string): Promise<void>;
  /** Removes `key`. */
  delete(key: string): Promise<boolean | void>;
}

/** A storage adapter over a Durable Object's storage. */
export function durableObjectStorage(storage: DurableObjectStorageLike): StorageAdapter;

/** What `TokenHolder.token()` and `refresh()` resolve to: errors travel as their fields (Workers RPC drops an Error's own properties). */
export type TokenHolderAnswer =
  | {
      /** A token. */
      ok: true;
      /** A valid access token. */
      accessToken: string;
      /** Until when (epoch ms) it may be handed out without asking again. */
      freshUntil: number;
      /** Its expiry, epoch ms; null when unknown. */
      expiresAt: number | null;
    }
  | {
      /** An error. */
      ok: false;
      /** The `TokenKeeperError`'s fields. */
      error: {
        /** The error's message. */
        message: string;
        /** Its code. */
        code: string;
        /** The HTTP status behind it, if any. */
        status?: number;
        /** The server's OAuth `error`. */
        error?: string;
        /** The server's `error_description`, truncated. */
        error_description?: string;
        /** Whether trying again later may succeed. */
        transient: boolean;
        /** Milliseconds until the next attempt, when one is planned. */
        retryIn?: number;
      };
    };

/**
 * A Durable Object that holds one session and performs its refreshes one at
 * a time; subclass it and define `keeperOptions` (and `credentials` for a
 * password login). It extends `DurableObject` from `cloudflare:workers`:
 * `token()` and `refresh()` are RPC methods (compatibility date 2024-04-03
 * or later), and `fetch` answers 404 to every HTTP request.
 */
export class TokenHolder<Env = unknown> {
  constructor(ctx: { storage: DurableObjectStorageLike }, env: Env);
  /**
   * The brand of `DurableObject` in `@cloudflare/workers-types`, which the
   * class extends at run time: a binding typed
   * `DurableObjectNamespace<MyHolder>` then type-checks, and its stubs have
   * the RPC methods that `durableTokens` calls.
   */
  readonly __DURABLE_OBJECT_BRAND: never;
  /** The Durable Object's state, as the runtime passed it. */
  readonly ctx: {
    /** Where the session is kept. */
    storage: DurableObjectStorageLike;
  };
  /** The Worker's bindings, as the runtime passed them. */
  readonly env: Env;
  /** TokenKeeper options; `storage` and `autoRefresh` are set by the holder. */
  keeperOptions(env: Env): Omit<TokenKeeperOptions, 'storage' | 'autoRefresh'>;
  /** Login credentials; none for client credentials. */
  credentials(env: Env): Credentials | undefined;
  /** RPC: a valid token, logging in first when there is no session. */
  token(): Promise<TokenHolderAnswer>;
  /** RPC: a token other than `stale`; refreshes when the held one is `stale`. */
  refresh(stale?: string): Promise<TokenHolderAnswer>;
  /** HTTP: 404 for every request; tokens go out through RPC only. */
  fetch(request: Request): Promise<Response>;
}

/** The RPC methods of a TokenHolder's stub that `durableTokens` calls. */
export interface TokenHolderStubLike {
  /** {@link TokenHolder.token}. */
  token(): Promise<TokenHolderAnswer>;
  /** {@link TokenHolder.refresh}. */
  refresh(stale?: string): Promise<TokenHolderAnswer>;
}

/** The part of a Durable Object namespace binding that `durableTokens` uses. */
export interface DurableObjectNamespaceLike {
  /** The id of the object named `name`. */
  idFromName(name: string): unknown;
  /** The stub of the object with `id`. */
  get(id: any): TokenHolderStubLike;
}

/** The isolate-side client of a TokenHolder: a per-isolate cache and single flight. */
export interface DurableTokens {
  /** A valid access token: the cached one while fresh, else the holder's; with `waitUntil`, one valid for 2 s more is returned at once and renewed in the background. */
  accessToken(options?: AccessTokenOptions): Promise<string>;
  /** A token other than `stale` (after a 401). */
  refresh(stale?: string): Promise<string>;
  /**
   * `fetch` with `Authorization: Bearer` to `allowedOrigins` only (else
   * `AUTH_ORIGIN_NOT_ALLOWED` before anything is sent); redirects are not
   * followed; one refresh and one retry after a 401.
   */
  fetch(input: Request | string | URL, init?: RequestInit, options?: AccessTokenOptions): Promise<Response>;
}

/** The options of {@link durableTokens}. */
export interface DurableTokensOptions {
  /** The TokenHolder object's name in the namespace (default `"tokenkeeper"`). */
  name?: string;
  /** The clock, epoch ms (tests). Default: Date.now. */
  now?: () => number;
  /**
   * The origins `fetch` may send the token to, as for `keeper.fetch`
   * (`https://api.example`; `http:` only on loopback or with
   * `allowInsecureHttp`). Without it, `fetch` sends the token nowhere.
   */
  allowedOrigins?: string[];
  /** Allows `http:` entries off loopback in `allowedOrigins`. */
  allowInsecureHttp?: boolean;
}

/**
 * The isolate-side client of the {@link TokenHolder} named `options.name`
 * in `namespace`. Create it once per isolate (module scope, lazily): its
 * cache and single flight are per isolate.
 */
export function durableTokens(namespace: DurableObjectNamespaceLike, options?: DurableTokensOptions): DurableTokens;
