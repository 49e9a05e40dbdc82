// Types of the Workers helpers (`tokenkeeper/workers`, and `tokenkeeper` under
// the `workerd` condition).
import type { AccessTokenOptions, Credentials, StorageAdapter, TokenKeeperOptions } from './keeper.js';

/** The part of a Workers KV namespace binding that `kvStorage` uses. */
export interface KVNamespaceLike {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** A storage adapter over Workers KV; each write expires with the session it holds (at least 60 s). */
export function kvStorage(kv: KVNamespaceLike, options?: { now?: () => number }): StorageAdapter;

/** The part of a Durable Object's `ctx.storage` that `durableObjectStorage` uses. */
export interface DurableObjectStorageLike {
  get(key: string): Promise<unknown>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<boolean | void>;
}

/** A storage adapter over a Durable Object's storage. */
export function durableObjectStorage(storage: DurableObjectStorageLike): StorageAdapter;

/** What `TokenHolder.token()` and `refresh()` resolve to: errors travel as their fields (Workers RPC drops an Error's own properties). */
export type TokenHolderAnswer =
  | { ok: true; accessToken: string; freshUntil: number; expiresAt: number | null }
  | {
      ok: false;
      error: {
        message: string;
        code: string;
        status?: number;
        error?: string;
        error_description?: string;
        transient: boolean;
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
  readonly ctx: { storage: DurableObjectStorageLike };
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
  token(): Promise<TokenHolderAnswer>;
  refresh(stale?: string): Promise<TokenHolderAnswer>;
}

/** The part of a Durable Object namespace binding that `durableTokens` uses. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: any): TokenHolderStubLike;
}

/** The isolate-side client of a TokenHolder: a per-isolate cache and single flight. */
export interface DurableTokens {
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

export interface DurableTokensOptions {
  /** The TokenHolder object's name in the namespace (default `"tokenkeeper"`). */
  name?: string;
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

export function durableTokens(namespace: DurableObjectNamespaceLike, options?: DurableTokensOptions): DurableTokens;
