/** The layers stay in order: no file of a lower layer imports a higher one. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve('src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : []));
}

/** Every relative import of a file, as a path under src/ (e.g. "engine/plan.ts"). */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|new URL\(\s*['"](\.[^'"]+)['"]/g)];
  return specs.map((m) => relative(SRC, resolve(dirname(file), m[1] ?? m[2] ?? m[3])));
}

/** For each layer, the folders of src/ it must not import. */
const FORBIDDEN: Record<string, string[]> = {
  errors: ['bundle', 'image', 'convert', 'engine', 'worker', 'app', 'cli'],
  bundle: ['image', 'convert', 'engine', 'worker', 'app', 'cli'],
  image: ['convert', 'engine', 'worker', 'app', 'cli'],
  convert: ['engine', 'worker', 'app', 'cli'],
  engine: ['convert', 'worker', 'app', 'cli'],
  probe: ['worker', 'app', 'cli'],
  worker: ['app', 'cli'],
};

describe('layers', () => {
  const all = files(SRC);

  it('finds the imports it checks', () => {
    expect(importsOf(join(SRC, 'engine/engine.ts'))).toContain('bundle/index.ts');
    expect(importsOf(join(SRC, 'worker/client.ts'))).toContain('worker/engine.worker.ts');
  });

  it.each(Object.keys(FORBIDDEN))('%s imports no higher layer', (layer) => {
    const inLayer = all.filter((f) => relative(SRC, f).split('/')[0].replace(/\.tsx?$/, '') === layer);
    expect(inLayer.length).toBeGreaterThan(0);
    const bad = inLayer.flatMap((f) => importsOf(f).filter((i) => FORBIDDEN[layer].includes(i.split('/')[0])).map((i) => `${relative(SRC, f)} -> ${i}`));
    expect(bad).toEqual([]);
  });
});
