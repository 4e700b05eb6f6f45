/**
 * Cross-origin isolation (SharedArrayBuffer, so onnxruntime's wasm backend gets threads). The dev
 * server and `vite preview` send the COOP/COEP headers themselves (vite.config.ts). On a static host
 * that does not, public/coi-serviceworker.js adds them: it is registered here and the page reloads
 * once so that it is served through it. Without service workers (insecure context, disabled,
 * private browsing), or when the reload did not help, the app runs as it is, single-threaded.
 */

/** Set in sessionStorage before the one reload; cleared once the page is isolated. */
const RELOAD_KEY = 'igpt-coi-reload';
/** How long to wait for the service worker to activate before starting without it. */
const ACTIVATE_TIMEOUT_MS = 4000;

export type Isolation = 'isolated' | 'reloading' | 'unavailable';

function session(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

function activated(reg: ServiceWorkerRegistration): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ACTIVATE_TIMEOUT_MS);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      resolve(ok);
    };
    const sw = reg.installing ?? reg.waiting ?? reg.active;
    if (!sw) return done(false);
    if (sw.state === 'activated') return done(true);
    if (sw.state === 'redundant') return done(false);
    sw.addEventListener('statechange', () => {
      if (sw.state === 'activated') done(true);
      else if (sw.state === 'redundant') done(false);
    });
  });
}

/**
 * Makes the page cross-origin isolated if it can: 'reloading' means the page is about to reload
 * (do not start the app), otherwise start it.
 */
export async function crossOriginIsolate(base = import.meta.env.BASE_URL): Promise<Isolation> {
  const store = session();
  if (window.crossOriginIsolated) {
    store?.removeItem(RELOAD_KEY);
    return 'isolated';
  }
  const container = window.isSecureContext ? navigator.serviceWorker : undefined;
  if (!container) return 'unavailable';
  // Browsers without COEP credentialless (Safari, older Firefox) get require-corp: the app loads no
  // cross-origin no-cors resources, and CORS model downloads work under both.
  const coep = 'credentialless' in HTMLIFrameElement.prototype ? 'credentialless' : 'require-corp';
  let reg: ServiceWorkerRegistration | undefined;
  try {
    reg = await container.register(`${base}coi-serviceworker.js?coep=${coep}`, { scope: base });
  } catch {
    return 'unavailable';
  }
  if (!reg) return 'unavailable'; // a stubbed register() (test harnesses, extensions)
  // One reload per tab session: if it did not isolate the page (or the flag cannot be kept, so a
  // loop could not be ruled out), carry on without isolation.
  if (!store || store.getItem(RELOAD_KEY)) return 'unavailable';
  if (!(await activated(reg))) return 'unavailable';
  try {
    store.setItem(RELOAD_KEY, String(Date.now()));
  } catch {
    return 'unavailable';
  }
  window.location.reload();
  return 'reloading';
}
