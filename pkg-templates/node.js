// Entry for Node.js and Deno (`node`, `deno`, for `tokenkeeper` and
// `tokenkeeper/init`): reads the module from disk next to this file and
// instantiates it synchronously at import time.
import { readFileSync } from 'node:fs';
import { initSync } from './tokenkeeper.js';

initSync({ module: readFileSync(new URL('./tokenkeeper_bg.wasm', import.meta.url)) });

export * from './keeper.js';

/** Resolves at once: this entry is ready on import (`initialize` of `tokenkeeper/init`). */
export function initialize() {
  return Promise.resolve();
}
