/**
 * What the CLI (`igpt probe --json`) and the app's Probe view both report, from the same code: the
 * per-class subset of a labelled set, the JSON of a probe report, and its CSV. Pure.
 */
import { type ProbeReport } from './probe.ts';
import { subsamplePerClass } from './split.ts';

/** A labelled image set as tokens: class names, one label and one 1024-token image per item. */
export interface LabelledTokens {
  classes: string[];
  labels: Int32Array;
  tokens: Int32Array[];
  /** Items of one group never straddle the split (the emoji set: one emoji in several icon sets). */
  groups?: string[];
}

/** About `perClass` items of each class (seeded, whole groups), or everything when undefined. */
export function probeSubset(data: LabelledTokens, perClass: number | undefined, seed: number): LabelledTokens {
  if (perClass === undefined) return data;
  const rows = subsamplePerClass(data.labels, perClass, seed, data.groups);
  return {
    classes: data.classes,
    labels: Int32Array.from(rows, (i) => data.labels[i]),
    tokens: Array.from(rows, (i) => data.tokens[i]),
    groups: data.groups ? Array.from(rows, (i) => data.groups![i]) : undefined,
  };
}

/** Images per class. */
export function classCounts(labels: ArrayLike<number>, classes: number): number[] {
  const out = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) out[labels[i]]++;
  return out;
}

export function layerName(layer: number): string {
  return layer === 0 ? 'embeddings' : `block ${layer}`;
}

export interface LayerJson {
  layer: number;
  name: string;
  accuracy: number;
  train_accuracy: number;
  validation_accuracy: number | null;
  l2: number;
  iterations: number;
  converged: boolean;
}

export interface ProbeJson {
  classes: string[];
  counts: { images: number; train: number; test: number; per_class: { class: string; train: number; test: number }[] };
  chance: number;
  uniform_chance: number;
  best_layer: number;
  layers: LayerJson[];
  settings: { split: number; seed: number; l2: number | 'auto'; l2_grid: number[] | null; validation_split: number | null; max_iterations: number };
}

export function probeJson(report: ProbeReport, classes: string[]): ProbeJson {
  return {
    classes,
    counts: {
      images: report.counts.images,
      train: report.counts.train,
      test: report.counts.test,
      per_class: classes.map((name, i) => ({ class: name, train: report.counts.trainPerClass[i], test: report.counts.testPerClass[i] })),
    },
    chance: report.chance,
    uniform_chance: report.uniformChance,
    best_layer: report.bestLayer,
    layers: report.layers.map((l) => ({
      layer: l.layer,
      name: layerName(l.layer),
      accuracy: l.testAccuracy,
      train_accuracy: l.trainAccuracy,
      validation_accuracy: l.validationAccuracy,
      l2: l.l2,
      iterations: l.iterations,
      converged: l.converged,
    })),
    settings: {
      split: report.settings.testFraction,
      seed: report.settings.seed,
      l2: report.settings.l2,
      l2_grid: report.settings.l2 === 'auto' ? report.settings.l2Grid : null,
      validation_split: report.settings.l2 === 'auto' ? report.settings.validationFraction : null,
      max_iterations: report.settings.maxIterations,
    },
  };
}

export const PROBE_CSV_HEADER = 'layer,name,test_accuracy,train_accuracy,l2,best,chance';

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * One row per layer: layer, name, test and train accuracy (full precision, as in the JSON), the
 * chosen L2, whether it is the best layer (1/0), and the chance level. Lines end in \n.
 */
export function probeCsv(json: Pick<ProbeJson, 'layers' | 'best_layer' | 'chance'>): string {
  const rows = json.layers.map((l) =>
    [String(l.layer), csvField(l.name), String(l.accuracy), String(l.train_accuracy), String(l.l2), l.layer === json.best_layer ? '1' : '0', String(json.chance)].join(','),
  );
  return [PROBE_CSV_HEADER, ...rows].join('\n') + '\n';
}

/**
 * One report out of per-layer reports of the same data, split and settings (`probeLayers` with
 * `layers: [l]`, one call per layer so that a run can stop between layers): the layers in order,
 * and the best layer chosen as `probeLayers` chooses it (highest test accuracy, the first on ties).
 */
export function combineLayerReports(parts: ProbeReport[]): ProbeReport {
  if (parts.length === 0) throw new RangeError('no layer reports to combine');
  const layers = parts.flatMap((p) => p.layers);
  let bestLayer = layers[0].layer;
  let bestAcc = -1;
  for (const r of layers) {
    if (r.testAccuracy > bestAcc) {
      bestAcc = r.testAccuracy;
      bestLayer = r.layer;
    }
  }
  return { ...parts[0], layers, bestLayer };
}
