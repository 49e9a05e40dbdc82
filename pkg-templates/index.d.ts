/**
 * The TokenKeeper API; the WebAssembly module is instantiated on import.
 * Under the `workerd` condition, `tokenkeeper` is `tokenkeeper/workers`,
 * which adds the Workers helpers.
 *
 * @module tokenkeeper
 */
export * from './keeper.js';
