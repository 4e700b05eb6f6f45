/**
 * A user's labelled images: one sub-folder per class, PNG or JPEG files inside (deeper folders
 * count for the class of their top folder). Each image becomes tokens as an upload does in the
 * app (`imageToTokens`: composite on white, resize to 32x32, nearest palette colour). Files that
 * fail to decode are listed in `bad`; files that are not images or not in a class folder in
 * `skipped`; neither stops the others. Pure: entries in, tokens out.
 */
import { InputError } from '../errors.ts';
import { decodeImage, imageToTokens, preparePalette } from '../image/index.ts';

export interface FileEntry {
  /** Relative to the data folder, '/'-separated: "<class>/<file>". */
  path: string;
  bytes: Uint8Array;
}

export interface LabelledImages {
  /** Class names (sub-folder names), sorted. */
  classes: string[];
  labels: Int32Array;
  tokens: Int32Array[];
  /** The path of each image. */
  paths: string[];
  bad: { path: string; problem: string }[];
  skipped: { path: string; reason: string }[];
}

const IMAGE_FILE = /\.(png|jpe?g)$/i;

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function readLabelledImages(entries: FileEntry[], clusters: number[][], folder = 'data folder'): LabelledImages {
  const palette = preparePalette(clusters);
  const sorted = [...entries].sort((a, b) => byCodeUnits(a.path, b.path));
  const skipped: LabelledImages['skipped'] = [];
  const candidates: { path: string; cls: string; bytes: Uint8Array }[] = [];
  for (const e of sorted) {
    const parts = e.path.split('/').filter(Boolean);
    if (parts.length < 2) skipped.push({ path: e.path, reason: 'not inside a class sub-folder' });
    else if (!IMAGE_FILE.test(e.path)) skipped.push({ path: e.path, reason: 'not a .png, .jpg or .jpeg file' });
    else candidates.push({ path: e.path, cls: parts[0], bytes: e.bytes });
  }
  const bad: LabelledImages['bad'] = [];
  const decoded: { path: string; cls: string; tokens: Int32Array }[] = [];
  for (const c of candidates) {
    try {
      decoded.push({ path: c.path, cls: c.cls, tokens: imageToTokens(decodeImage(c.bytes, c.path), palette).tokens });
    } catch (e) {
      bad.push({ path: c.path, problem: e instanceof InputError ? e.problem : (e as Error).message });
    }
  }
  const classes = [...new Set(decoded.map((d) => d.cls))].sort(byCodeUnits);
  if (classes.length < 2) {
    throw new InputError(folder, `needs at least 2 class sub-folders with readable PNG or JPEG images, found ${classes.length}${classes.length ? ` (${classes[0]})` : ''}`);
  }
  return {
    classes,
    labels: Int32Array.from(decoded, (d) => classes.indexOf(d.cls)),
    tokens: decoded.map((d) => d.tokens),
    paths: decoded.map((d) => d.path),
    bad,
    skipped,
  };
}

/**
 * Paths of a picked or dropped data folder, relative to it: when every path starts with the same
 * top folder and lies below a sub-folder of it ("my-set/cats/1.png"), that top folder is dropped
 * ("cats/1.png"); paths that already start at the class folders are kept.
 */
export function relativeToDataFolder<T extends { path: string }>(entries: T[]): T[] {
  const parts = entries.map((e) => e.path.split('/').filter(Boolean));
  const top = parts[0]?.[0];
  const nested = parts.length > 0 && parts.every((p) => p.length >= 3 && p[0] === top);
  return nested ? entries.map((e, i) => ({ ...e, path: parts[i].slice(1).join('/') })) : entries;
}
