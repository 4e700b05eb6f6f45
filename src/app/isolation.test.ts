/**
 * The page side of cross-origin isolation: register the service worker and reload at most once per
 * tab session; carry on (no reload) whenever service workers are missing, fail or do not help.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crossOriginIsolate } from './isolation';

class MemoryStorage {
  data = new Map<string, string>();
  getItem(k: string) {
    return this.data.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.data.set(k, v);
  }
  removeItem(k: string) {
    this.data.delete(k);
  }
}

interface Setup {
  isolated?: boolean;
  secure?: boolean;
  serviceWorker?: 'none' | 'rejects' | 'stub' | 'ok';
  state?: string;
  storage?: MemoryStorage | 'throws';
  credentialless?: boolean;
}

function setup(s: Setup = {}) {
  const reload = vi.fn();
  const register = vi.fn(async (_url: string, _opts: RegistrationOptions) => {
    if (s.serviceWorker === 'rejects') throw new DOMException('denied', 'SecurityError');
    if (s.serviceWorker === 'stub') return undefined;
    return { active: { state: s.state ?? 'activated', addEventListener() {} } };
  });
  const storage = s.storage ?? new MemoryStorage();
  const win = {
    crossOriginIsolated: s.isolated ?? false,
    isSecureContext: s.secure ?? true,
    location: { reload },
    get sessionStorage() {
      if (storage === 'throws') throw new DOMException('no storage', 'SecurityError');
      return storage;
    },
  };
  vi.stubGlobal('window', win);
  vi.stubGlobal('navigator', s.serviceWorker === 'none' ? {} : { serviceWorker: { register } });
  vi.stubGlobal('HTMLIFrameElement', { prototype: s.credentialless === false ? {} : { credentialless: false } });
  return { reload, register, storage };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('crossOriginIsolate', () => {
  it('does nothing on an isolated page, and forgets an earlier reload', async () => {
    const storage = new MemoryStorage();
    storage.setItem('igpt-coi-reload', '1');
    const { reload, register } = setup({ isolated: true, storage });
    expect(await crossOriginIsolate('/')).toBe('isolated');
    expect(register).not.toHaveBeenCalled();
    expect(reload).not.toHaveBeenCalled();
    expect(storage.data.size).toBe(0);
  });

  it('registers the worker under the base path and reloads once', async () => {
    const { reload, register, storage } = setup();
    expect(await crossOriginIsolate('/igpt/')).toBe('reloading');
    expect(register).toHaveBeenCalledWith('/igpt/coi-serviceworker.js?coep=credentialless', { scope: '/igpt/' });
    expect(reload).toHaveBeenCalledTimes(1);
    // After the reload, still not isolated (a browser that ignores the headers): no second reload.
    expect(await crossOriginIsolate('/igpt/')).toBe('unavailable');
    expect(reload).toHaveBeenCalledTimes(1);
    expect((storage as MemoryStorage).data.has('igpt-coi-reload')).toBe(true);
  });

  it('asks for require-corp where COEP credentialless is unknown', async () => {
    const { register } = setup({ credentialless: false });
    await crossOriginIsolate('/');
    expect(register.mock.calls[0][0]).toBe('/coi-serviceworker.js?coep=require-corp');
  });

  it.each([
    ['no service workers', { serviceWorker: 'none' } as Setup],
    ['an insecure context', { secure: false } as Setup],
    ['a register() that fails', { serviceWorker: 'rejects' } as Setup],
    ['a stubbed register()', { serviceWorker: 'stub' } as Setup],
    ['no sessionStorage (a loop could not be ruled out)', { storage: 'throws' } as Setup],
    ['a worker that never activates', { state: 'redundant' } as Setup],
  ])('starts without isolation and without reloading on %s', async (_what, s) => {
    const { reload } = setup(s);
    expect(await crossOriginIsolate('/')).toBe('unavailable');
    expect(reload).not.toHaveBeenCalled();
  });
});
