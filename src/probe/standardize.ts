/**
 * Per-feature standardisation fitted on the training rows: x' = (x - mean) / std, with the
 * population standard deviation; a feature constant on the training rows keeps std 1.
 */

export interface Standardizer {
  mean: Float64Array;
  std: Float64Array;
}

/** Mean and std of each of the `dim` columns over `rows` of a row-major [n, dim] matrix. */
export function fitStandardizer(x: ArrayLike<number>, dim: number, rows: ArrayLike<number>): Standardizer {
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim);
  const n = rows.length;
  if (n === 0) throw new RangeError('fitStandardizer: no rows');
  for (let r = 0; r < n; r++) {
    const o = rows[r] * dim;
    for (let j = 0; j < dim; j++) mean[j] += x[o + j];
  }
  for (let j = 0; j < dim; j++) mean[j] /= n;
  for (let r = 0; r < n; r++) {
    const o = rows[r] * dim;
    for (let j = 0; j < dim; j++) std[j] += (x[o + j] - mean[j]) ** 2;
  }
  for (let j = 0; j < dim; j++) {
    const s = Math.sqrt(std[j] / n);
    std[j] = s > 1e-12 ? s : 1;
  }
  return { mean, std };
}

/** The standardised rows, in the order given, as a new row-major [rows.length, dim] matrix. */
export function applyStandardizer(s: Standardizer, x: ArrayLike<number>, dim: number, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length * dim);
  for (let r = 0; r < rows.length; r++) {
    const o = rows[r] * dim;
    for (let j = 0; j < dim; j++) out[r * dim + j] = (x[o + j] - s.mean[j]) / s.std[j];
  }
  return out;
}

/** The given rows of a row-major [n, dim] matrix, copied in order. */
export function selectRows(x: Float64Array, dim: number, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length * dim);
  for (let r = 0; r < rows.length; r++) out.set(x.subarray(rows[r] * dim, (rows[r] + 1) * dim), r * dim);
  return out;
}
