// Entry for browsers and bundlers (`browser`, `import`, `default`).
// Fetches and instantiates the WebAssembly module once, at import time.
// `new URL('./…wasm', import.meta.url)` is the pattern bundlers (Vite,
// webpack 5, esbuild, Parcel, Rollup plugins) recognise to emit the file as an asset.
import init from './tokenkeeper.js';

await init({ module_or_path: new URL('./tokenkeeper_bg.wasm', import.meta.url) });

export * from './keeper.js';
