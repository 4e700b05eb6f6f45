/*
 * Cross-origin isolation on hosts that cannot send headers (GitHub Pages and other plain static
 * hosts), after the known coi-serviceworker approach: this service worker re-serves the app's own
 * (same-origin) responses with Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy, so the
 * page and its workers are cross-origin isolated and onnxruntime's wasm backend can use threads.
 * Registered by src/app/isolation.ts, which reloads the page once on the first visit.
 *
 * COEP is `credentialless` (?coep=require-corp for browsers without it). Cross-origin requests
 * (model downloads from another host) are not touched: the browser fetches them with CORS, which
 * both policies allow. A header the host already sends is kept.
 */
const COEP = new URL(self.location.href).searchParams.get('coep') === 'require-corp' ? 'require-corp' : 'credentialless';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  // Chromium rejects this combination when the request is re-issued from a service worker.
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  event.respondWith(
    fetch(request).then((response) => {
      if (response.status === 0) return response;
      const headers = new Headers(response.headers);
      if (!headers.has('Cross-Origin-Opener-Policy')) headers.set('Cross-Origin-Opener-Policy', 'same-origin');
      if (!headers.has('Cross-Origin-Embedder-Policy')) headers.set('Cross-Origin-Embedder-Policy', COEP);
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    }),
  );
});
