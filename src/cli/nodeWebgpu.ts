/**
 * Node-only: WebGPU for onnxruntime-web in Node via Dawn (the `webgpu` package).
 *
 * Installs Dawn's WebGPU globals (GPUBufferUsage, GPUQueue, ...) and `navigator.gpu` (Node 20 has
 * no `navigator`), then asks for an adapter. On a machine without a GPU driver, Dawn can use the
 * SwiftShader Vulkan driver that Debian's chromium ships; the library path must be set before the
 * process starts, so run:
 *
 *   LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json \
 *     npm run igpt -- bench --backend webgpu
 */
import { existsSync } from 'node:fs';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export type WebGPUProbe = { ok: true; adapter: string } | { ok: false; reason: string };

let installed: Promise<WebGPUProbe> | undefined;

/**
 * A copy of `data` when it is (a view on) a SharedArrayBuffer, else `data` itself. Keeps the
 * element type so `writeBuffer`'s dataOffset/size (in elements for typed arrays) mean the same.
 */
export function unshareBufferSource<T>(data: T): T {
  if (typeof SharedArrayBuffer === 'undefined') return data;
  if (data instanceof SharedArrayBuffer) return new Uint8Array(data).slice().buffer as T;
  if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
    if (data instanceof DataView) {
      return new DataView(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice().buffer) as T;
    }
    return (data as unknown as { slice(): T }).slice();
  }
  return data;
}

/** Wraps GPUQueue.prototype.writeBuffer so SharedArrayBuffer-backed data is copied first (Dawn rejects it). */
export function patchWriteBuffer(queueProto: { writeBuffer: (...args: unknown[]) => unknown }): void {
  const key = Symbol.for('igpt.writeBufferUnshared');
  const proto = queueProto as typeof queueProto & { [key: symbol]: boolean };
  if (proto[key]) return;
  const original = proto.writeBuffer;
  proto.writeBuffer = function (this: unknown, buffer: unknown, offset: unknown, data: unknown, ...rest: unknown[]) {
    return original.call(this, buffer, offset, unshareBufferSource(data), ...rest);
  };
  proto[key] = true;
}

function driverHint(env: NodeJS.ProcessEnv): string {
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES) return '';
  if (existsSync(SWIFTSHADER_ICD)) {
    return `; for the SwiftShader software driver start the process with LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`;
  }
  return '';
}

/** Installs Dawn's WebGPU into globalThis (once) and requests an adapter. */
export function probeNodeWebGPU(): Promise<WebGPUProbe> {
  installed ??= (async (): Promise<WebGPUProbe> => {
    let mod: { create: (opts: string[]) => GPU; globals: object };
    try {
      mod = (await import('webgpu')) as unknown as typeof mod;
    } catch (e) {
      return { ok: false, reason: `the webgpu (Dawn) package could not be loaded: ${(e as Error).message}` };
    }
    Object.assign(globalThis, mod.globals);
    const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
    if (!g.navigator) {
      Object.defineProperty(globalThis, 'navigator', { value: { gpu: mod.create([]) }, configurable: true, writable: true });
    } else if (!g.navigator.gpu) {
      Object.defineProperty(g.navigator, 'gpu', { value: mod.create([]), configurable: true });
    }
    const queue = (globalThis as unknown as { GPUQueue?: { prototype: { writeBuffer: (...a: unknown[]) => unknown } } }).GPUQueue;
    if (queue?.prototype) patchWriteBuffer(queue.prototype);
    let adapter: GPUAdapter | null;
    try {
      adapter = await g.navigator!.gpu!.requestAdapter();
    } catch (e) {
      return { ok: false, reason: `requestAdapter failed: ${(e as Error).message}${driverHint(process.env)}` };
    }
    if (!adapter) return { ok: false, reason: `no WebGPU adapter (no Vulkan driver found)${driverHint(process.env)}` };
    const info = adapter.info;
    const name = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' ') || 'unknown adapter';
    return { ok: true, adapter: name };
  })();
  return installed;
}

/** True when WebGPU is usable; otherwise false, and `onReason` hears why. */
export async function setupNodeWebGPU(onReason?: (reason: string) => void): Promise<boolean> {
  const probe = await probeNodeWebGPU();
  if (!probe.ok) onReason?.(probe.reason);
  return probe.ok;
}
