/**
 * Deterministic, seeded, stratified train/test split. Each class sends about `testFraction` of
 * its items to the test side. With `groups`, items of one group (the same emoji drawn by several
 * icon sets, or in several skin tones) always land on the same side, so near-duplicates never
 * straddle the split; a class whose items form a single group stays on the train side.
 */
import { Rng } from '../engine/rng.ts';

export interface SplitOptions {
  /** Share of each class held out for testing, in (0, 1). */
  testFraction: number;
  seed: number;
  /** Group key of each item; default every item is its own group. */
  groups?: ArrayLike<string | number>;
}

export interface Split {
  /** Item indices, ascending. */
  train: Int32Array;
  test: Int32Array;
}

/** Fisher-Yates shuffle in place with a seeded generator. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
  return items;
}

export function stratifiedSplit(labels: ArrayLike<number>, options: SplitOptions): Split {
  const { testFraction, seed, groups } = options;
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
  if (groups && groups.length !== labels.length) throw new RangeError(`${groups.length} groups for ${labels.length} labels`);
  const n = labels.length;
  const key = (i: number): string => (groups ? `g:${groups[i]}` : `i:${i}`);

  // Items of each class, and the groups of each class in order of first appearance.
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const side = new Map<string, 'train' | 'test'>();
  const rng = new Rng(seed);
  for (const c of classes) {
    const members: number[] = [];
    for (let i = 0; i < n; i++) if (labels[i] === c) members.push(i);
    const sizes = new Map<string, number>();
    for (const i of members) sizes.set(key(i), (sizes.get(key(i)) ?? 0) + 1);
    const target = Math.round(testFraction * members.length);
    let inTest = 0;
    for (const [g, size] of sizes) if (side.get(g) === 'test') inTest += size;
    const open = [...sizes.keys()].filter((g) => !side.has(g));
    shuffleInPlace(open, rng);
    if (sizes.size === 1) {
      if (open.length) side.set(open[0], 'train');
      continue;
    }
    for (const g of open) {
      if (inTest < target) {
        side.set(g, 'test');
        inTest += sizes.get(g)!;
      } else {
        side.set(g, 'train');
      }
    }
  }
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < n; i++) (side.get(key(i)) === 'test' ? test : train).push(i);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}

/**
 * At most about `perClass` items of each class, chosen with the seed: the class's groups are
 * shuffled and taken whole while the class has fewer than `perClass` items. Indices, ascending.
 */
export function subsamplePerClass(labels: ArrayLike<number>, perClass: number, seed: number, groups?: ArrayLike<string | number>): Int32Array {
  const key = (i: number): string => (groups ? `g:${groups[i]}` : `i:${i}`);
  const rng = new Rng(seed);
  const keep: number[] = [];
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  for (const c of classes) {
    const byGroup = new Map<string, number[]>();
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] !== c) continue;
      const list = byGroup.get(key(i)) ?? [];
      list.push(i);
      byGroup.set(key(i), list);
    }
    let taken = 0;
    for (const g of shuffleInPlace([...byGroup.keys()], rng)) {
      if (taken >= perClass) break;
      keep.push(...byGroup.get(g)!);
      taken += byGroup.get(g)!.length;
    }
  }
  return Int32Array.from(keep.sort((a, b) => a - b));
}
