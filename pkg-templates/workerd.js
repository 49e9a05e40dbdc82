// Entry for Cloudflare Workers / workerd (`workerd`, `worker`): the runtime
// (and wrangler's bundler) hands an imported `.wasm` over as a compiled
// `WebAssembly.Module`, so nothing is fetched and no code runs at global
// scope beyond instantiation. `workers.js` adds the Workers helpers
// (KV storage, the TokenHolder Durable Object and its client).
import wasm from './tokenkeeper_bg.wasm';
import { initSync } from './tokenkeeper.js';

initSync({ module: wasm });

export * from './keeper.js';
export * from './workers.js';
