import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'training/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Liftoff only: the test models are tiny, so TurboFan's compile time would outweigh what it
    // gains, and V8's default tiering holds a worker up for a minute compiling two huge functions
    // of onnxruntime's wasm (docs/PERF.md, "Tiering"). The CLI's own tiering (a larger budget)
    // runs where tests spawn the CLI (src/cli/engine-commands.test.ts, e2e/same-samples.spec.ts).
    execArgv: ['--liftoff-only'],
    // Load onnxruntime-web and Dawn as Node loads them (not through Vite's transform).
    server: { deps: { external: [/onnxruntime-web/, /onnxruntime-common/, /[\\/]webgpu[\\/]/] } },
  },
});
