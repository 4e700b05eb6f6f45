// Pure helpers of the labelled emoji probe set builder (build_probe_set.ts): which icons of
// which sets go into which class. Classes are the icon sets' own categories (Iconify
// `metadata.json` `categories`: the Unicode emoji groups). No Node APIs here.
import { Rng } from '../src/engine/rng.ts';
import { shuffleInPlace } from '../src/probe/split.ts';

/** Icon sets with categories and clear licences (twemoji CC BY 4.0, noto Apache 2.0, fluent MIT). */
export const PROBE_SETS = ['twemoji', 'noto', 'fluent-emoji-flat'] as const;

export interface SetCatalogue {
  set: string;
  /** Names of the set's icons (not aliases). */
  icons: Set<string>;
  /** category -> icon names, from metadata.json. */
  categories: Record<string, string[]>;
}

export interface ProbeItem {
  set: string;
  name: string;
  /** Class index into the class list. */
  label: number;
  /** The emoji regardless of icon set and skin tone. */
  group: string;
}

const TONE = /-(medium-light|medium-dark|light|medium|dark)(-skin-tone)?(?=-|$)/g;

/**
 * The skin-tone-free name of an icon when it is a skin-tone variant of another icon of the same
 * set ("artist-dark-skin-tone" in twemoji, "artist-dark" in fluent -> "artist"), else null.
 * Names such as "black-medium-square" are left alone: their stripped form is not an icon.
 */
export function toneBase(name: string, icons: Set<string>): string | null {
  const base = name.replace(TONE, '');
  return base !== name && icons.has(base) ? base : null;
}

export interface SelectOptions {
  /** Most images per class (whole groups are taken until the class reaches it). */
  perClass: number;
  seed: number;
  /** Classes to use, in order (default: every category, sorted). */
  classes?: string[];
}

/**
 * Picks the items of each class: every icon of the class's category in every set, skin-tone
 * variants left out, grouped by name across sets; groups are shuffled with the seed and taken
 * whole while the class has fewer than `perClass` images. Deterministic for a seed.
 */
export function selectProbeItems(catalogues: SetCatalogue[], options: SelectOptions): { classes: string[]; items: ProbeItem[] } {
  const classes = options.classes ?? [...new Set(catalogues.flatMap((c) => Object.keys(c.categories)))].sort();
  const rng = new Rng(options.seed);
  const items: ProbeItem[] = [];
  classes.forEach((cls, label) => {
    const groups = new Map<string, ProbeItem[]>();
    for (const cat of catalogues) {
      for (const name of cat.categories[cls] ?? []) {
        if (!cat.icons.has(name) || toneBase(name, cat.icons) !== null) continue;
        const list = groups.get(name) ?? [];
        list.push({ set: cat.set, name, label, group: name });
        groups.set(name, list);
      }
    }
    const keys = shuffleInPlace([...groups.keys()].sort(), rng);
    let taken = 0;
    for (const key of keys) {
      if (taken >= options.perClass) break;
      const group = groups.get(key)!;
      items.push(...group);
      taken += group.length;
    }
  });
  return { classes, items };
}
