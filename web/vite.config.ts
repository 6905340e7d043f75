import { defineConfig } from 'vite';

// Relative asset paths: the built files are served from `/` by the sprout binary, and
// from any directory by the test harness.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2020',
    sourcemap: false,
  },
  server: {
    // `npm run dev` against a running server: SPROUT_URL=http://127.0.0.1:8080 npm run dev
    proxy: process.env.SPROUT_URL
      ? {
          '/api': { target: process.env.SPROUT_URL, ws: true, changeOrigin: true },
          '/healthz': { target: process.env.SPROUT_URL, changeOrigin: true },
        }
      : undefined,
  },
});
