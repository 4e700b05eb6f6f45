import { describe, expect, it } from 'vitest';
import { TOP_CANDIDATES, type StepEvent } from '../engine/types';
import { EngineWorkerError, isDeviceLostMessage, packSteps, serializeError } from './protocol';
import { InputError } from '../convert/types';

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
  it('packs consecutive steps row by row', () => {
    const b = packSteps([ev(0, 3), ev(1, 3), ev(2, 3)]);
    expect(b.count).toBe(3);
    expect(b.batch).toBe(3);
    expect(Array.from(b.positions)).toEqual([100, 101, 102]);
    expect(Array.from(b.tokens)).toEqual([0, 1, 2, 10, 11, 12, 20, 21, 22]);
    expect(b.entropy[4]).toBeCloseTo(1.1);
    expect(b.candidates[TOP_CANDIDATES * 3 * 2]).toBe(200);
    expect(b.elapsedMs).toBe(10);
  });
  it('is structured-cloneable', () => {
    const b = packSteps([ev(0, 2)]);
    const c = structuredClone(b);
    expect(Array.from(c.tokens)).toEqual([0, 1]);
  });
});

describe('errors', () => {
  it('keeps the input and problem of input errors', () => {
    const e = serializeError(new InputError('cat.png', 'is not an image'));
    expect(e).toMatchObject({ name: 'InputError', input: 'cat.png', problem: 'is not an image', message: 'cat.png: is not an image' });
    const back = new EngineWorkerError(e);
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
