import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'training/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Load onnxruntime-web and Dawn as Node loads them (not through Vite's transform).
    server: { deps: { external: [/onnxruntime-web/, /onnxruntime-common/, /[\\/]webgpu[\\/]/] } },
  },
});
