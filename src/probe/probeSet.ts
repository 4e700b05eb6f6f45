/**
 * Labelled image sets for probes, shipped as a sprite sheet of 32x32 RGB images (PNG) and a JSON
 * index (class names, labels, groups, sources, licences). The sheet holds the pixels the model's
 * quantiser takes (an image already composited on white and resized to 32x32 as an upload is),
 * so tokens are made for any model's palette with `quantize`, exactly as the app tokenises an
 * upload. Pure: no DOM, no Node APIs.
 */
import { InputError } from '../errors.ts';
import { decodeImage, quantize, preparePalette } from '../image/index.ts';

export const PROBE_SET_FORMAT = 'igpt-probe-set';
export const CELL = 32;

export interface ProbeSetSource {
  /** npm package and version, e.g. "@iconify-json/twemoji@1.2.5". */
  package: string;
  name: string;
  author: string;
  url?: string;
  licence: string;
  licenceUrl?: string;
  images: number;
}

/** `<name>.json` beside `<name>.png`. */
export interface ProbeSetIndex {
  format: typeof PROBE_SET_FORMAT;
  version: 1;
  name: string;
  description: string;
  /** The sprite sheet file name (beside the index). */
  sheet: string;
  /** Cells per sheet row; image i is at column i % columns, row floor(i / columns). */
  columns: number;
  count: number;
  classes: string[];
  /** Class index of each image. */
  labels: number[];
  /** Group of each image (images of one group stay on one side of a split). */
  groups: string[];
  /** Where each image comes from, e.g. "twemoji:grinning-face". */
  items: string[];
  sources: Record<string, ProbeSetSource>;
  /** How the images were made. */
  build: Record<string, unknown>;
}

export interface ProbeSet {
  name: string;
  classes: string[];
  labels: Int32Array;
  groups: string[];
  items: string[];
  /** count x 32 x 32 x 3 bytes. */
  rgb: Uint8Array;
  count: number;
}

export function validateProbeSetIndex(value: unknown, name: string): ProbeSetIndex {
  const m = value as ProbeSetIndex;
  const bad = (why: string) => new InputError(name, `is not a valid probe set index: ${why}`);
  if (!m || typeof m !== 'object' || m.format !== PROBE_SET_FORMAT) throw bad(`format is not "${PROBE_SET_FORMAT}"`);
  if (m.version !== 1) throw bad(`unsupported version ${String(m.version)}`);
  if (!Number.isInteger(m.count) || m.count < 1) throw bad('count must be a positive whole number');
  if (!Number.isInteger(m.columns) || m.columns < 1) throw bad('columns must be a positive whole number');
  if (!Array.isArray(m.classes) || m.classes.length < 2 || !m.classes.every((c) => typeof c === 'string')) throw bad('classes must name at least 2 classes');
  for (const key of ['labels', 'groups', 'items'] as const) {
    if (!Array.isArray(m[key]) || m[key].length !== m.count) throw bad(`${key} must have ${m.count} entries`);
  }
  if (!m.labels.every((l) => Number.isInteger(l) && l >= 0 && l < m.classes.length)) throw bad('labels must be class indices');
  return m;
}

/** Parses an index and its decoded sheet. */
export function parseProbeSet(index: unknown, sheetBytes: Uint8Array, name = 'probe set'): ProbeSet {
  const m = validateProbeSetIndex(index, `${name} index`);
  const sheet = decodeImage(sheetBytes, `${name} sheet`);
  const rows = Math.ceil(m.count / m.columns);
  if (sheet.width !== m.columns * CELL || sheet.height < rows * CELL) {
    throw new InputError(`${name} sheet`, `is ${sheet.width}x${sheet.height}, expected ${m.columns * CELL}x${rows * CELL} for ${m.count} images`);
  }
  const rgb = new Uint8Array(m.count * CELL * CELL * 3);
  for (let i = 0; i < m.count; i++) {
    const ox = (i % m.columns) * CELL;
    const oy = Math.floor(i / m.columns) * CELL;
    for (let y = 0; y < CELL; y++) {
      for (let x = 0; x < CELL; x++) {
        const s = ((oy + y) * sheet.width + ox + x) * 4;
        const d = (i * CELL * CELL + y * CELL + x) * 3;
        rgb[d] = sheet.data[s];
        rgb[d + 1] = sheet.data[s + 1];
        rgb[d + 2] = sheet.data[s + 2];
      }
    }
  }
  return { name: m.name, classes: m.classes, labels: Int32Array.from(m.labels), groups: m.groups, items: m.items, rgb, count: m.count };
}

/** Lays out 32x32 RGB images on a sheet `columns` cells wide (white where no image): RGB bytes. */
export function buildSheet(rgb: Uint8Array, count: number, columns: number): { width: number; height: number; data: Uint8Array } {
  const width = columns * CELL;
  const height = Math.ceil(count / columns) * CELL;
  const data = new Uint8Array(width * height * 3).fill(255);
  for (let i = 0; i < count; i++) {
    const ox = (i % columns) * CELL;
    const oy = Math.floor(i / columns) * CELL;
    for (let y = 0; y < CELL; y++) {
      data.set(rgb.subarray((i * CELL + y) * CELL * 3, (i * CELL + y + 1) * CELL * 3), ((oy + y) * width + ox) * 3);
    }
  }
  return { width, height, data };
}

/** The tokens of every image of a set under a model's palette (as the app tokenises an upload). */
export function probeSetTokens(set: Pick<ProbeSet, 'rgb' | 'count'>, clusters: number[][]): Int32Array[] {
  const palette = preparePalette(clusters);
  const px = CELL * CELL * 3;
  return Array.from({ length: set.count }, (_, i) => quantize(set.rgb.subarray(i * px, (i + 1) * px), palette));
}
