import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  // tokenkeeper/react imports react: one copy, the app's, also when the
  // package is linked from ../../pkg.
  resolve: { dedupe: ['react', 'react-dom'] },
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
