import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'training/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // V8 would otherwise keep each worker alive for minutes after the tests, optimising
    // onnxruntime's wasm in the background (see docs/PERF.md); the test models are tiny.
    execArgv: ['--liftoff-only'],
    // Load onnxruntime-web and Dawn as Node loads them (not through Vite's transform).
    server: { deps: { external: [/onnxruntime-web/, /onnxruntime-common/, /[\\/]webgpu[\\/]/] } },
  },
});
