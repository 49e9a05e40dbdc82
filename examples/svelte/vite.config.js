import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  // tokenkeeper/svelte imports svelte/store: one copy, the app's, also when
  // the package is linked from ../../pkg.
  resolve: { dedupe: ['svelte'] },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    // The package linked from ../../pkg lies outside this directory; the
    // dev server serves its .wasm from there.
    fs: { allow: ['.', '../../pkg'] },
  },
  preview: { host: '127.0.0.1', port: 5173, strictPort: true },
});
