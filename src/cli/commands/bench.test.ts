import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/testio.ts';
import { installGpuCounters, stepProfile, type GpuCounts } from './bench.ts';

/** Stand-ins for the WebGPU classes: each method records that the original ran. */
function fakeScope() {
  const calls: string[] = [];
  class GPUComputePassEncoder {
    dispatchWorkgroups(x: number) {
      calls.push(`dispatch ${x}`);
      return 'd';
    }
    dispatchWorkgroupsIndirect() {
      calls.push('indirect');
    }
  }
  class GPUQueue {
    submit() {
      calls.push('submit');
    }
    writeBuffer() {
      calls.push('write');
    }
  }
  class GPUCommandEncoder {
    copyBufferToBuffer() {
      calls.push('copy');
    }
  }
  class GPUBuffer {
    mapAsync() {
      calls.push('map');
      return Promise.resolve();
    }
  }
  return { calls, scope: { GPUComputePassEncoder, GPUQueue, GPUCommandEncoder, GPUBuffer } };
}

describe('installGpuCounters', () => {
  it('counts each WebGPU call and still runs the original with its arguments and result', async () => {
    const { calls, scope } = fakeScope();
    const counts = installGpuCounters(scope)!;
    expect(counts).toEqual({ dispatch: 0, submit: 0, writeBuffer: 0, copyBufferToBuffer: 0, mapAsync: 0 });
    const pass = new scope.GPUComputePassEncoder();
    expect(pass.dispatchWorkgroups(7)).toBe('d');
    pass.dispatchWorkgroupsIndirect();
    const queue = new scope.GPUQueue();
    queue.writeBuffer();
    queue.writeBuffer();
    queue.submit();
    new scope.GPUCommandEncoder().copyBufferToBuffer();
    await new scope.GPUBuffer().mapAsync();
    expect(counts).toEqual({ dispatch: 2, submit: 1, writeBuffer: 2, copyBufferToBuffer: 1, mapAsync: 1 });
    expect(calls).toEqual(['dispatch 7', 'indirect', 'write', 'write', 'submit', 'copy', 'map']);
  });

  it('installs once per scope (no double counting) and needs WebGPU classes', () => {
    const { scope } = fakeScope();
    const a = installGpuCounters(scope)!;
    const b = installGpuCounters(scope)!;
    expect(b).toBe(a);
    new scope.GPUComputePassEncoder().dispatchWorkgroups(1);
    expect(a.dispatch).toBe(1);
    expect(installGpuCounters({})).toBeNull();
  });
});

describe('stepProfile', () => {
  const c = (dispatch: number, submit: number, writeBuffer: number, copyBufferToBuffer: number, mapAsync: number): GpuCounts => ({
    dispatch,
    submit,
    writeBuffer,
    copyBufferToBuffer,
    mapAsync,
  });
  it('divides the calls between the first and last step by the decode steps; prefill is what came before', () => {
    const p = stepProfile(c(10, 1, 10, 0, 0), c(70, 5, 72, 3, 1), c(370, 45, 372, 23, 11), 10);
    expect(p).toEqual({
      kernels_per_step: 30,
      submits_per_step: 4,
      writes_per_step: 30,
      copies_per_step: 2,
      readbacks_per_step: 1,
      prefill_kernels: 60,
      decode_steps: 10,
    });
  });
  it('is null without decode steps', () => {
    expect(stepProfile(c(0, 0, 0, 0, 0), c(5, 0, 0, 0, 0), c(5, 0, 0, 0, 0), 0)).toBeNull();
  });
});

describe('igpt bench --profile / --progress', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'igpt-bench-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  it('on wasm: says there is nothing to count, kernels_per_step is null; --progress writes one JSON line per batch', async () => {
    const fixture = fileURLToPath(new URL('../../../test/data/imagegpt-tiny-a', import.meta.url));
    const model = join(tmp, 'bundle');
    expect((await runCli(['export', fixture, '--out', model, '--dtype', 'fp32'])).code).toBe(0);
    const r = await runCli(['bench', '--model', model, '--batch', '1,2', '--steps', '3', '--prefix', '8', '--json', '--profile', '--progress']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.kernels_per_step).toBeNull();
    expect(out.runs[0].warm.profile).toBeUndefined();
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^bench: --profile counts WebGPU calls; the wasm backend has none$/);
    const progress = lines.slice(1).map((l) => JSON.parse(l.replace(/^bench: /, '')));
    expect(progress.map((p) => p.batch)).toEqual([1, 2]);
    expect(progress[1]).toEqual(out.runs[1]);
  });
});
