/**
 * Multinomial logistic regression with L2 regularisation, trained full batch with L-BFGS, in
 * float64 on typed arrays. Deterministic: no randomness, a fixed order of every sum.
 *
 *   minimise  f(W, b) = (1/N) sum_n [ logsumexp_k(z_nk) - z_n,y_n ] + (l2 / 2) ||W||^2,
 *             z_nk = x_n . w_k + b_k                  (the biases are not regularised)
 *
 * L-BFGS: the two-loop recursion with the last `memory` pairs, initial Hessian scale
 * s.y / y.y, a backtracking line search with the Armijo condition (c1 = 1e-4, halving from a
 * unit step; the first step is 1 / |g|), and pairs with s.y <= 1e-12 skipped. Stops when the
 * largest gradient entry is below `tolerance`, when the loss stops falling, or after
 * `maxIterations`.
 */

export interface LogRegOptions {
  l2: number;
  maxIterations?: number;
  tolerance?: number;
  memory?: number;
  /** Starting parameters (warm start), from an earlier model of the same shape. */
  init?: Float64Array;
}

export interface LogRegModel {
  classes: number;
  dim: number;
  /** [classes * dim] weights, then [classes] biases. */
  params: Float64Array;
  loss: number;
  iterations: number;
  converged: boolean;
}

/** Loss and gradient of f at `params` (gradient written into `grad`). */
export function lossAndGradient(
  x: Float64Array,
  y: ArrayLike<number>,
  n: number,
  dim: number,
  classes: number,
  params: Float64Array,
  l2: number,
  grad: Float64Array,
): number {
  const K = classes;
  const bias = K * dim;
  grad.fill(0);
  const z = new Float64Array(K);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = params[bias + k];
      const w = k * dim;
      for (let j = 0; j < dim; j++) s += x[o + j] * params[w + j];
      z[k] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let k = 0; k < K; k++) sum += (z[k] = Math.exp(z[k] - max));
    const label = y[i];
    loss += Math.log(sum) - Math.log(z[label]);
    for (let k = 0; k < K; k++) {
      const r = z[k] / sum - (k === label ? 1 : 0);
      if (r === 0) continue;
      const w = k * dim;
      for (let j = 0; j < dim; j++) grad[w + j] += r * x[o + j];
      grad[bias + k] += r;
    }
  }
  const inv = 1 / n;
  let reg = 0;
  for (let p = 0; p < bias; p++) {
    reg += params[p] * params[p];
    grad[p] = grad[p] * inv + l2 * params[p];
  }
  for (let k = 0; k < K; k++) grad[bias + k] *= inv;
  return loss * inv + 0.5 * l2 * reg;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function trainLogReg(x: Float64Array, y: ArrayLike<number>, dim: number, classes: number, options: LogRegOptions): LogRegModel {
  const n = y.length;
  if (x.length !== n * dim) throw new RangeError(`trainLogReg: ${x.length} values for ${n} rows of ${dim}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(y[i]) || y[i] < 0 || y[i] >= classes) throw new RangeError(`trainLogReg: label ${y[i]} outside 0..${classes - 1}`);
  }
  const { l2, maxIterations = 300, tolerance = 1e-5, memory = 10 } = options;
  const size = classes * (dim + 1);
  const params = options.init ? Float64Array.from(options.init) : new Float64Array(size);
  if (params.length !== size) throw new RangeError(`trainLogReg: init has ${params.length} values, expected ${size}`);
  let grad = new Float64Array(size);
  let loss = lossAndGradient(x, y, n, dim, classes, params, l2, grad);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(size);
  const next = new Float64Array(size);
  let nextGrad = new Float64Array(size);
  const alpha = new Float64Array(memory);
  let iterations = 0;
  let converged = false;
  const maxAbs = (g: Float64Array) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

  for (; iterations < maxIterations; iterations++) {
    if (maxAbs(grad) < tolerance) {
      converged = true;
      break;
    }
    // Two-loop recursion: dir = -H grad.
    for (let i = 0; i < size; i++) dir[i] = -grad[i];
    for (let m = S.length - 1; m >= 0; m--) {
      alpha[m] = rho[m] * dot(S[m], dir);
      const ym = Y[m];
      for (let i = 0; i < size; i++) dir[i] -= alpha[m] * ym[i];
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last], Y[last]) / dot(Y[last], Y[last]);
      for (let i = 0; i < size; i++) dir[i] *= gamma;
    }
    for (let m = 0; m < S.length; m++) {
      const beta = rho[m] * dot(Y[m], dir);
      const sm = S[m];
      for (let i = 0; i < size; i++) dir[i] += (alpha[m] - beta) * sm[i];
    }
    let slope = dot(grad, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < size; i++) dir[i] = -grad[i];
      slope = dot(grad, dir);
    }
    let step = S.length === 0 ? 1 / Math.sqrt(dot(grad, grad)) : 1;
    let nextLoss = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < size; i++) next[i] = params[i] + step * dir[i];
      nextLoss = lossAndGradient(x, y, n, dim, classes, next, l2, nextGrad);
      if (nextLoss <= loss + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(nextLoss < loss)) {
      converged = true; // no further progress possible at this precision
      break;
    }
    const s = new Float64Array(size);
    const yv = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      s[i] = next[i] - params[i];
      yv[i] = nextGrad[i] - grad[i];
    }
    const sy = dot(s, yv);
    if (sy > 1e-12) {
      if (S.length === memory) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    const relative = (loss - nextLoss) / Math.max(Math.abs(loss), 1e-300);
    params.set(next);
    [grad, nextGrad] = [nextGrad, grad];
    loss = nextLoss;
    if (relative < 1e-12) {
      converged = true;
      iterations++;
      break;
    }
  }
  return { classes, dim, params, loss, iterations, converged };
}

/** The predicted class (first maximum of the scores) of each row of x. */
export function predict(model: LogRegModel, x: Float64Array): Int32Array {
  const { classes: K, dim, params } = model;
  const n = x.length / dim;
  const out = new Int32Array(n);
  const bias = K * dim;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestScore = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = params[bias + k];
      for (let j = 0; j < dim; j++) s += x[i * dim + j] * params[k * dim + j];
      if (s > bestScore) {
        bestScore = s;
        best = k;
      }
    }
    out[i] = best;
  }
  return out;
}

export function accuracy(predicted: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predicted.length !== labels.length) throw new RangeError('accuracy: length mismatch');
  if (labels.length === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) hits++;
  return hits / labels.length;
}
