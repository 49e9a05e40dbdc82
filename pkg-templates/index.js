// Entry for browsers and bundlers (`browser`, `import`, `default`).
// Fetches and instantiates the WebAssembly module once, at import time.
// `new URL('./…wasm', import.meta.url)` is the pattern bundlers (Vite,
// webpack 5, esbuild, Parcel, Rollup plugins) recognise to emit the file as an asset.
import init from './tokenkeeper.js';
import { wasmInitError } from './csp.js';

// A compile that the page's Content Security Policy blocks throws
// `AUTH_WASM_BLOCKED` (see csp.js); other failures are thrown as they are.
await init({ module_or_path: new URL('./tokenkeeper_bg.wasm', import.meta.url) }).catch((e) => {
  throw wasmInitError(e);
});

export * from './keeper.js';
