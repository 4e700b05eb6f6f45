/**
 * Session creation on WebGPU is watched (engine.ts `watchGpu`): a device lost, or an out-of-memory
 * error from WebGPU, while onnxruntime uploads the weights ends the load with a clear error instead
 * of a load that never ends. onnxruntime's device is stood in for by an EventTarget with `lost`;
 * the creation by a promise that never settles, as when the upload hangs.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../errors.ts';
import { watchGpu } from './engine.ts';

class GPUOutOfMemoryError extends Error {}

function fakeDevice() {
  let lose!: (info: { reason: string; message: string }) => void;
  const device = Object.assign(new EventTarget(), { lost: new Promise<{ reason: string; message: string }>((r) => (lose = r)) });
  return { device, lose };
}

const env = ort.env.webgpu as unknown as { device?: unknown };
const never = () => new Promise<ort.InferenceSession>(() => undefined);

afterEach(() => {
  delete env.device;
});

describe('watchGpu', () => {
  it('ends with a clear error when the device is lost during creation, also when the device appears later', async () => {
    const { device, lose } = fakeDevice();
    const watched = watchGpu(never(), 'big/model.onnx', 2.7e9);
    setTimeout(() => (env.device = device), 120);
    setTimeout(() => lose({ reason: 'unknown', message: 'D3D12 device removed' }), 250);
    const err = await watched.catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toBe('big/model.onnx: the WebGPU device was lost while the model was being loaded (unknown: D3D12 device removed); reload the page, or use a smaller precision');
  });

  it('a device destroyed on purpose (a released session, a lost device replaced) is not a failure; the next device is watched', async () => {
    const stale = fakeDevice();
    stale.lose({ reason: 'destroyed', message: 'device was destroyed' });
    env.device = stale.device;
    const session = { release: async () => undefined } as unknown as ort.InferenceSession;
    const created = new Promise<ort.InferenceSession>((r) => setTimeout(() => r(session), 200));
    await expect(watchGpu(created, 'm.onnx', 1)).resolves.toBe(session);
    // And a real loss of the device made after the stale one still ends the load.
    const next = fakeDevice();
    const watched = watchGpu(never(), 'big/model.onnx', 2.7e9);
    setTimeout(() => (env.device = next.device), 120);
    setTimeout(() => next.lose({ reason: 'unknown', message: 'GPU hung' }), 250);
    const err = await watched.catch((e) => e);
    expect(err.message).toBe('big/model.onnx: the WebGPU device was lost while the model was being loaded (unknown: GPU hung); reload the page, or use a smaller precision');
  });

  it('ends with a clear error on a WebGPU out-of-memory error, naming the weights', async () => {
    const { device } = fakeDevice();
    env.device = device;
    const watched = watchGpu(never(), 'big/model.onnx', 2.7e9);
    await new Promise((r) => setTimeout(r, 20));
    device.dispatchEvent(Object.assign(new Event('uncapturederror'), { error: new GPUOutOfMemoryError('Failed to allocate memory for buffer') }));
    const err = await watched.catch((e) => e);
    expect(err.message).toMatch(/^big\/model\.onnx: the GPU ran out of memory while taking its 2\.70 GB of weights \(Failed to allocate memory for buffer\)\. .*q4 takes about a sixth of fp32\)$/);
  });

  it('passes the session through, and stops listening, when creation succeeds', async () => {
    const { device } = fakeDevice();
    const events: string[] = [];
    const add = device.addEventListener.bind(device);
    const remove = device.removeEventListener.bind(device);
    device.addEventListener = (type: string, l: EventListenerOrEventListenerObject | null) => (events.push(`add ${type}`), add(type, l));
    device.removeEventListener = (type: string, l: EventListenerOrEventListenerObject | null) => (events.push(`remove ${type}`), remove(type, l));
    env.device = device;
    const session = { release: async () => undefined } as unknown as ort.InferenceSession;
    const created = new Promise<ort.InferenceSession>((r) => setTimeout(() => r(session), 30));
    await expect(watchGpu(created, 'm.onnx', 1)).resolves.toBe(session);
    expect(events).toEqual(['add uncapturederror', 'remove uncapturederror']);
  });

  it('ignores other uncaptured WebGPU errors', async () => {
    const { device } = fakeDevice();
    env.device = device;
    let settled = false;
    const created = new Promise<ort.InferenceSession>((r) => setTimeout(() => r({} as ort.InferenceSession), 80));
    const watched = watchGpu(created, 'm.onnx', 1).finally(() => (settled = true));
    device.dispatchEvent(Object.assign(new Event('uncapturederror'), { error: Object.assign(new Error('Validation error'), { name: 'GPUValidationError' }) }));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    await expect(watched).resolves.toEqual({});
  });
});
