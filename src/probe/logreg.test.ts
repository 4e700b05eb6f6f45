import { describe, expect, it } from 'vitest';
import { Rng } from '../engine/rng.ts';
import { accuracy, lossAndGradient, predict, trainLogReg } from './logreg.ts';
import { applyStandardizer, fitStandardizer } from './standardize.ts';
import { gaussian } from './testData.ts';

function data(n: number, dim: number, classes: number, seed: number, separation: number) {
  const rng = new Rng(seed);
  const y = Int32Array.from({ length: n }, (_, i) => i % classes);
  const x = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) x[i * dim + j] = gaussian(rng) + (j === y[i] ? separation : 0);
  return { x, y };
}

describe('logistic regression', () => {
  it('the gradient matches finite differences', () => {
    const { x, y } = data(20, 4, 3, 1, 1);
    const rng = new Rng(2);
    const params = Float64Array.from({ length: 3 * 5 }, () => gaussian(rng) * 0.3);
    const grad = new Float64Array(params.length);
    lossAndGradient(x, y, 20, 4, 3, params, 0.1, grad);
    const scratch = new Float64Array(params.length);
    for (let p = 0; p < params.length; p++) {
      const h = 1e-6;
      const plus = params.slice();
      plus[p] += h;
      const minus = params.slice();
      minus[p] -= h;
      const numeric = (lossAndGradient(x, y, 20, 4, 3, plus, 0.1, scratch) - lossAndGradient(x, y, 20, 4, 3, minus, 0.1, scratch)) / (2 * h);
      expect(Math.abs(numeric - grad[p])).toBeLessThan(1e-7);
    }
  });

  it('converges to a zero gradient and fits separable data', () => {
    const { x, y } = data(300, 10, 5, 3, 8);
    const model = trainLogReg(x, y, 10, 5, { l2: 1e-3 });
    expect(model.converged).toBe(true);
    const grad = new Float64Array(model.params.length);
    lossAndGradient(x, y, 300, 10, 5, model.params, 1e-3, grad);
    expect(Math.max(...grad.map(Math.abs))).toBeLessThan(1e-4);
    expect(accuracy(predict(model, x), y)).toBe(1);
  });

  it('a strong penalty shrinks the weights', () => {
    const { x, y } = data(200, 6, 3, 4, 2);
    const norm = (l2: number) => {
      const m = trainLogReg(x, y, 6, 3, { l2 });
      return m.params.subarray(0, 18).reduce((s, v) => s + v * v, 0);
    };
    expect(norm(10)).toBeLessThan(norm(1e-3) / 10);
  });

  it('standardisation gives train columns mean 0 and std 1', () => {
    const { x } = data(50, 3, 2, 5, 4);
    const rows = Int32Array.from({ length: 40 }, (_, i) => i);
    const s = fitStandardizer(x, 3, rows);
    const z = applyStandardizer(s, x, 3, rows);
    for (let j = 0; j < 3; j++) {
      let m = 0;
      let v = 0;
      for (let i = 0; i < 40; i++) m += z[i * 3 + j] / 40;
      for (let i = 0; i < 40; i++) v += (z[i * 3 + j] - m) ** 2 / 40;
      expect(Math.abs(m)).toBeLessThan(1e-12);
      expect(Math.abs(v - 1)).toBeLessThan(1e-12);
    }
  });
});
