import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * Sonner inserts its stylesheet as an inline `<style>` element, which the server's CSP (no
 * `style-src 'unsafe-inline'`) refuses; the same sheet is imported as a file instead
 * (`sonner/dist/styles.css` in styles.css), and the insertion is taken out of sonner's module.
 */
function sonnerStylesAsFile(): Plugin {
  return {
    name: 'axon-sonner-styles-as-file',
    enforce: 'pre',
    transform(code, id) {
      if (!/[\\/]node_modules[\\/]sonner[\\/]dist[\\/]index\.m?js$/.test(id)) return;
      const patched = code.replace(/\b__insertCSS\(\s*["'`]/, (call) => `void ${call.slice(call.indexOf('('))}`);
      if (patched === code) this.error('sonner no longer inserts its styles with __insertCSS: revisit this plugin');
      return { code: patched, map: null };
    },
  };
}

// In development the API runs on :3000 (`npm run dev`) and Vite proxies to it, so the browser
// still only talks to one origin, as in production where the server serves the built app.
export default defineConfig({
  plugins: [sonnerStylesAsFile(), react(), tailwindcss()],
  server: {
    port: 5173,
    proxy: { '/api': 'http://127.0.0.1:3000', '/v1': 'http://127.0.0.1:3000', '/healthz': 'http://127.0.0.1:3000' },
  },
  build: { outDir: 'dist', sourcemap: true, chunkSizeWarningLimit: 1500 },
});
