import { describe, expect, it } from 'vitest';
import { TOP_CANDIDATES, type StepEvent } from '../engine/types.ts';
import { InputError } from '../errors.ts';
import { StepBatcher, WorkerCallError, isDeviceLostMessage, serializeError, unpackSteps } from './protocol.ts';

function ev(step: number, b: number): StepEvent {
  return {
    type: 'step',
    step,
    position: 100 + step,
    tokens: Int32Array.from({ length: b }, (_, i) => step * 10 + i),
    entropy: Float32Array.from({ length: b }, (_, i) => step + i / 10),
    candidates: Int32Array.from({ length: b * TOP_CANDIDATES }, (_, i) => step * 100 + i),
    candidateProbs: Float32Array.from({ length: b * TOP_CANDIDATES }, (_, i) => 1 / (i + 1)),
    elapsedMs: step * 5,
  };
}

describe('step batches', () => {
  it('packs consecutive steps row by row, copying out of reused buffers, and unpacks them as views', () => {
    const batcher = new StepBatcher();
    const reused = ev(0, 3);
    for (let step = 0; step < 40; step++) {
      const e = ev(step, 3);
      reused.tokens.set(e.tokens);
      reused.entropy.set(e.entropy);
      reused.candidates.set(e.candidates);
      reused.candidateProbs.set(e.candidateProbs);
      batcher.add({ ...reused, step, position: e.position, elapsedMs: e.elapsedMs }); // the engine overwrites its arrays each step
    }
    const out = batcher.take()!;
    expect(batcher.take()).toBeNull();
    const b = out.batch;
    expect(b.count).toBe(40); // grown past the first 32 steps
    expect(b.batch).toBe(3);
    expect(Array.from(b.positions.subarray(0, 3))).toEqual([100, 101, 102]);
    expect(Array.from(b.tokens.subarray(0, 9))).toEqual([0, 1, 2, 10, 11, 12, 20, 21, 22]);
    expect(out.transfer).toContain(b.tokens.buffer);
    const events = [...unpackSteps(structuredClone(b))];
    expect(events).toHaveLength(40);
    expect(events[39]).toMatchObject({ step: 39, position: 139, elapsedMs: 39 * 5 });
    expect(Array.from(events[39].tokens)).toEqual([390, 391, 392]);
    expect(events[2].entropy[1]).toBeCloseTo(2.1);
    expect(events[2].candidates[0]).toBe(200);
    expect(events[2].candidates.length).toBe(3 * TOP_CANDIDATES);
  });
});

describe('errors', () => {
  it('keeps the input and problem of input errors', () => {
    const e = serializeError(new InputError('cat.png', 'is not an image'));
    expect(e).toMatchObject({ name: 'InputError', input: 'cat.png', problem: 'is not an image', message: 'cat.png: is not an image' });
    const back = new WorkerCallError(e);
    expect(back.message).toBe('cat.png: is not an image');
    expect(back.deviceLost).toBe(false);
  });
  it('recognises lost devices', () => {
    expect(isDeviceLostMessage('GPU device was lost: destroyed')).toBe(true);
    expect(isDeviceLostMessage('Device is lost')).toBe(true);
    expect(isDeviceLostMessage('Out of memory')).toBe(false);
    expect(serializeError(new Error('WebGPU device lost')).deviceLost).toBe(true);
    expect(serializeError('plain string')).toEqual({ name: 'Error', message: 'plain string' });
  });
});
