import { readFile } from 'node:fs/promises';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { MANIFEST_FILE, parseManifest } from './src/bundle/manifest.ts';

/**
 * Cross-origin isolation, so that onnxruntime's wasm backend gets SharedArrayBuffer and threads.
 * COEP `credentialless` (not `require-corp`) keeps cross-origin no-cors loads working without a
 * Cross-Origin-Resource-Policy header; CORS fetches (model downloads) work under both. Hosts that
 * cannot send headers get the same from public/coi-serviceworker.js.
 */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'credentialless',
};

/** The bundled default model, copied into the build (the dev server serves it from the project root). */
const DEFAULT_MODEL_DIR = 'models/default';

/**
 * Puts models/default into the build: igpt.json and the files its variants list (not its README,
 * pictures or training logs), so that dist/ serves the app with its default model.
 */
function bundledModel(): Plugin {
  return {
    name: 'igpt-bundled-model',
    apply: 'build',
    async generateBundle() {
      const dir = new URL(`./${DEFAULT_MODEL_DIR}/`, import.meta.url);
      const text = await readFile(new URL(MANIFEST_FILE, dir), 'utf8');
      const manifest = parseManifest(text, `${DEFAULT_MODEL_DIR}/${MANIFEST_FILE}`);
      const paths = new Set(manifest.variants.flatMap((v) => v.files.map((f) => f.path)));
      this.emitFile({ type: 'asset', fileName: `${DEFAULT_MODEL_DIR}/${MANIFEST_FILE}`, source: text });
      for (const path of paths) {
        this.emitFile({ type: 'asset', fileName: `${DEFAULT_MODEL_DIR}/${path}`, source: await readFile(new URL(path, dir)) });
      }
    },
  };
}

export default defineConfig({
  // Sub-path hosting: IGPT_BASE=/igpt/ npm run build (and the same for npm run preview).
  base: process.env.IGPT_BASE ?? '/',
  plugins: [react(), bundledModel()],
  worker: {
    format: 'es',
    // onnxruntime in a chunk of its own: its wasm threads start workers from their own module
    // (import.meta.url), which must be onnxruntime alone, not the engine worker that imports it (that
    // one's message handler would take the thread's messages and the session would never start).
    rolldownOptions: { output: { codeSplitting: { groups: [{ name: 'onnxruntime', test: /[\\/]node_modules[\\/]onnxruntime-/ }] } } },
  },
  server: { port: 5173, strictPort: false, headers: ISOLATION_HEADERS, watch: { ignored: ['**/dist/**', '**/tmp/**'] } },
  preview: { headers: ISOLATION_HEADERS },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
});
