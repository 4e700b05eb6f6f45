import { defineConfig } from '@playwright/test';

/**
 * e2e tests run in Debian's Chromium (apt package `chromium`), never a downloaded browser.
 * WebGPU comes from SwiftShader (no GPU needed): --enable-unsafe-webgpu on a secure
 * context (http://localhost).
 */
const port = Number(process.env.E2E_PORT ?? 5199);

// The playground tests run on the reference fixture's bundle (2 layers, exported by the global
// setup) unless told otherwise: SwiftShader is slow. e2e/default-model.spec.ts opens the bundled
// default model itself.
process.env.E2E_MODEL_URL ??= '/e2e/bundles/tiny/';
process.env.E2E_MODEL_DIR ??= 'e2e/bundles/tiny';

export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/global-setup.ts',
  timeout: 240_000,
  expect: { timeout: 60_000 },
  fullyParallel: false,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://localhost:${port}`,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--enable-unsafe-webgpu',
        '--no-sandbox',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `npx vite --port ${port} --strictPort`,
    url: `http://localhost:${port}`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
  },
});
