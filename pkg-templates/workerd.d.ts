// The TokenKeeper API; the module is initialised on import.
export * from './keeper.js';
// The Workers helpers: KV storage, the TokenHolder Durable Object and its client.
export * from './workers.js';
