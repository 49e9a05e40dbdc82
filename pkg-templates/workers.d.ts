// Types of the Workers helpers (`workerd`/`worker` entry only).
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

/**
 * A Durable Object that holds one session and performs its refreshes one at
 * a time; subclass it and define `keeperOptions` (and `credentials` for a
 * password login).
 */
export class TokenHolder<Env = unknown> {
  constructor(ctx: { storage: DurableObjectStorageLike }, env: Env);
  readonly ctx: { storage: DurableObjectStorageLike };
  readonly env: Env;
  /** TokenKeeper options; `storage` and `autoRefresh` are set by the holder. */
  keeperOptions(env: Env): Omit<TokenKeeperOptions, 'storage' | 'autoRefresh'>;
  /** Login credentials; none for client credentials. */
  credentials(env: Env): Credentials | undefined;
  /** `POST /token` and `POST /refresh` `{ stale }` → `{ accessToken, freshUntil, expiresAt }`. */
  fetch(request: Request): Promise<Response>;
}

/** The part of a Durable Object namespace binding that `durableTokens` uses. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: any): { fetch(input: string, init?: RequestInit): Promise<Response> };
}

/** The isolate-side client of a TokenHolder: a per-isolate cache and single flight. */
export interface DurableTokens {
  accessToken(options?: AccessTokenOptions): Promise<string>;
  /** A token other than `stale` (after a 401). */
  refresh(stale?: string): Promise<string>;
  fetch(input: Request | string | URL, init?: RequestInit, options?: AccessTokenOptions): Promise<Response>;
}

export function durableTokens(
  namespace: DurableObjectNamespaceLike,
  options?: { name?: string; now?: () => number },
): DurableTokens;
