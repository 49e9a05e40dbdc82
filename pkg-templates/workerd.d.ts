/**
 * The TokenKeeper API for Cloudflare Workers (workerd), initialised on
 * import, with the Workers helpers: storage adapters over Workers KV and a
 * Durable Object's storage, and the {@link TokenHolder} Durable Object,
 * which holds one session for every isolate, with its isolate-side client
 * {@link durableTokens}. The same module is `tokenkeeper` under the
 * `workerd` condition.
 *
 * @module tokenkeeper/workers
 */
export * from './keeper.js';
// The Workers helpers: KV storage, the TokenHolder Durable Object and its client.
export * from './workers.js';
