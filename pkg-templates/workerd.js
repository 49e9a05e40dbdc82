// Entry for Cloudflare Workers / workerd: the `workerd` condition of
// `tokenkeeper` and `tokenkeeper/init`, and `tokenkeeper/workers`. The
// runtime (and wrangler's bundler) hands an imported `.wasm` over as a
// compiled `WebAssembly.Module`, so nothing is fetched and no code runs at
// global scope beyond instantiation. `workers.js` adds the Workers helpers
// (KV storage, the TokenHolder Durable Object and its client).
import wasm from './tokenkeeper_bg.wasm';
import { initSync } from './tokenkeeper.js';

initSync({ module: wasm });

export * from './keeper.js';
export * from './workers.js';

/** Resolves at once: this entry is ready on import (`initialize` of `tokenkeeper/init`). */
export function initialize() {
  return Promise.resolve();
}
