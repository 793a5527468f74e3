// The dashboard's build: plain TypeScript bundled by Vite into `dist/` (or the folder given by
// GREENKUBE_DASHBOARD_OUT, which greenkube-cli's build.rs sets to a folder under OUT_DIR).
// Hashed files go under /assets/ (served immutable); nothing is fetched from elsewhere.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: process.env.GREENKUBE_DASHBOARD_OUT ?? 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    // Keep every asset a file: the CSP allows `data:` images only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    // `npm run dev`: the API of a `greenkube serve` on :8000.
    proxy: { '/api': 'http://127.0.0.1:8000' },
  },
});
