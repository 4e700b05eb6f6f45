/**
 * Linear probes of every layer: for each layer's pooled features, a standardised multinomial
 * logistic regression trained on a seeded stratified train split, scored on the held-out test
 * split. Pure and deterministic for a seed.
 *
 * Settings (docs/PROBE.md):
 * - split: `stratifiedSplit(labels, testFraction, seed, groups)`, the same for every layer;
 * - standardisation: per feature, mean and std of the train split;
 * - L2 strength: fixed, or ('auto') the value of `l2Grid` with the best accuracy on a validation
 *   split carved out of the train split (stratified, seed + 1, same groups; ties go to the
 *   stronger penalty); the probe is then refitted on the whole train split;
 * - chance: the share of the test split's most common class (`chance`); 1 / classes is reported
 *   beside it (`uniformChance`).
 */
import { accuracy, predict, trainLogReg, type LogRegModel } from './logreg.ts';
import { stratifiedSplit, type Split } from './split.ts';
import { applyStandardizer, fitStandardizer, selectRows } from './standardize.ts';

export const DEFAULT_L2_GRID = [10, 1, 1e-1, 1e-2, 1e-3];

export interface ProbeOptions {
  testFraction?: number;
  seed?: number;
  /** Items of one group always share a side of the split (e.g. one emoji from several icon sets). */
  groups?: ArrayLike<string | number>;
  l2?: number | 'auto';
  l2Grid?: number[];
  validationFraction?: number;
  maxIterations?: number;
  /** Probe only these layers (default all). */
  layers?: number[];
  onLayer?: (result: LayerProbe, index: number, total: number) => void;
}

export interface LayerProbe {
  layer: number;
  l2: number;
  trainAccuracy: number;
  testAccuracy: number;
  /** Accuracy on the validation split at the chosen l2 (auto only). */
  validationAccuracy: number | null;
  iterations: number;
  converged: boolean;
  trainLoss: number;
}

export interface ProbeReport {
  layers: LayerProbe[];
  /** The layer with the highest test accuracy (the first on ties). */
  bestLayer: number;
  /** The test split's most common class share. */
  chance: number;
  uniformChance: number;
  classes: number;
  counts: { images: number; train: number; test: number; trainPerClass: number[]; testPerClass: number[] };
  settings: { testFraction: number; seed: number; l2: number | 'auto'; l2Grid: number[]; validationFraction: number; maxIterations: number };
}

export interface FeatureShape {
  images: number;
  layers: number;
  width: number;
}

/** One layer's features as a row-major [images, width] matrix. */
export function layerMatrix(features: ArrayLike<number>, shape: FeatureShape, layer: number): Float64Array {
  const { images, layers, width } = shape;
  if (features.length !== images * layers * width) throw new RangeError(`features: ${features.length} values for ${images} x ${layers} x ${width}`);
  const out = new Float64Array(images * width);
  for (let i = 0; i < images; i++) {
    const o = (i * layers + layer) * width;
    for (let j = 0; j < width; j++) out[i * width + j] = features[o + j];
  }
  return out;
}

function pick<T extends ArrayLike<number | string>>(values: T, rows: ArrayLike<number>): (T extends ArrayLike<infer U> ? U : never)[] {
  return Array.from(rows, (r) => values[r]) as never;
}

function perClass(labels: ArrayLike<number>, rows: ArrayLike<number>, classes: number): number[] {
  const out = new Array<number>(classes).fill(0);
  for (let i = 0; i < rows.length; i++) out[labels[rows[i]]]++;
  return out;
}

export function probeLayers(features: ArrayLike<number>, shape: FeatureShape, labels: ArrayLike<number>, classes: number, options: ProbeOptions = {}): ProbeReport {
  const testFraction = options.testFraction ?? 0.2;
  const seed = options.seed ?? 0;
  const l2Setting = options.l2 ?? 'auto';
  const l2Grid = options.l2Grid ?? DEFAULT_L2_GRID;
  const validationFraction = options.validationFraction ?? 0.2;
  const maxIterations = options.maxIterations ?? 300;
  if (labels.length !== shape.images) throw new RangeError(`${labels.length} labels for ${shape.images} images`);
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isInteger(labels[i]) || labels[i] < 0 || labels[i] >= classes) throw new RangeError(`label ${labels[i]} outside 0..${classes - 1}`);
  }
  const split: Split = stratifiedSplit(labels, { testFraction, seed, groups: options.groups });
  if (split.train.length === 0 || split.test.length === 0) throw new RangeError('the split left no train or no test images');
  const trainLabels = Int32Array.from(pick(labels, split.train));
  const testLabels = Int32Array.from(pick(labels, split.test));

  // Validation split inside the train split, for choosing l2 (indices into split.train).
  let inner: Split | null = null;
  if (l2Setting === 'auto') {
    inner = stratifiedSplit(trainLabels, {
      testFraction: validationFraction,
      seed: seed + 1,
      groups: options.groups ? pick(options.groups, split.train) : undefined,
    });
    if (inner.train.length === 0 || inner.test.length === 0) inner = null;
  }

  const testPerClass = perClass(labels, split.test, classes);
  const chance = Math.max(...testPerClass) / split.test.length;
  const which = options.layers ?? Array.from({ length: shape.layers }, (_, l) => l);
  const results: LayerProbe[] = [];
  const { width } = shape;

  which.forEach((layer, index) => {
    const x = layerMatrix(features, shape, layer);
    const std = fitStandardizer(x, width, split.train);
    const xTrain = applyStandardizer(std, x, width, split.train);
    const xTest = applyStandardizer(std, x, width, split.test);

    let l2 = typeof l2Setting === 'number' ? l2Setting : l2Grid[0];
    let validationAccuracy: number | null = null;
    let init: Float64Array | undefined;
    if (inner) {
      const xIn = selectRows(xTrain, width, inner.train);
      const xVal = selectRows(xTrain, width, inner.test);
      const yIn = Int32Array.from(pick(trainLabels, inner.train));
      const yVal = Int32Array.from(pick(trainLabels, inner.test));
      let best = -1;
      let warm: Float64Array | undefined;
      for (const candidate of l2Grid) {
        const m = trainLogReg(xIn, yIn, width, classes, { l2: candidate, maxIterations, init: warm });
        warm = m.params;
        const acc = accuracy(predict(m, xVal), yVal);
        if (acc > best) {
          best = acc;
          l2 = candidate;
          init = m.params;
        }
      }
      validationAccuracy = best;
    }
    const model: LogRegModel = trainLogReg(xTrain, trainLabels, width, classes, { l2, maxIterations, init });
    const result: LayerProbe = {
      layer,
      l2,
      trainAccuracy: accuracy(predict(model, xTrain), trainLabels),
      testAccuracy: accuracy(predict(model, xTest), testLabels),
      validationAccuracy,
      iterations: model.iterations,
      converged: model.converged,
      trainLoss: model.loss,
    };
    results.push(result);
    options.onLayer?.(result, index, which.length);
  });

  let bestLayer = results[0]?.layer ?? 0;
  let bestAcc = -1;
  for (const r of results) {
    if (r.testAccuracy > bestAcc) {
      bestAcc = r.testAccuracy;
      bestLayer = r.layer;
    }
  }
  return {
    layers: results,
    bestLayer,
    chance,
    uniformChance: 1 / classes,
    classes,
    counts: {
      images: shape.images,
      train: split.train.length,
      test: split.test.length,
      trainPerClass: perClass(labels, split.train, classes),
      testPerClass,
    },
    settings: { testFraction, seed, l2: l2Setting, l2Grid, validationFraction, maxIterations },
  };
}
