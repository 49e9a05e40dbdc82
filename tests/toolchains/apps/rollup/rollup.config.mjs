// Rollup 4 with the two plugins a browser app needs for this package:
// node-resolve (bare `tokenkeeper` through its `exports`) and
// import-meta-assets (emits the .wasm that `new URL('./tokenkeeper_bg.wasm',
// import.meta.url)` points at). ES output: the entry uses top-level await.
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { importMetaAssets } from '@web/rollup-plugin-import-meta-assets';

export default {
  input: 'main.js',
  output: { dir: 'dist', format: 'es' },
  plugins: [nodeResolve(), importMetaAssets()],
};
