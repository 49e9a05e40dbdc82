import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

export default defineConfig({
  plugins: [vue()],
  // tokenkeeper/vue imports vue: one copy, the app's, also when the package
  // is linked from ../../pkg.
  resolve: { dedupe: ['vue'] },
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
