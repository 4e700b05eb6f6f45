/** Shared pieces of the CLI commands: I/O streams, model folder resolution, engine loading. */
import { readFile, stat } from 'node:fs/promises';
import v8 from 'node:v8';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../errors.ts';
import type { Backend, Engine, EngineOptions } from '../../engine/types.ts';
import { readFolderFiles } from '../nodeFiles.ts';
import { setupNodeWebGPU } from '../nodeWebgpu.ts';
import { choiceOption, type OptionValues } from '../args.ts';

export interface OutStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliIO {
  stdout: OutStream;
  stderr: OutStream;
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Default process.cwd(). */
  cwd?: string;
}

export interface Ctx {
  io: CliIO;
  env: NodeJS.ProcessEnv;
  cwd: string;
  json: boolean;
  /** Human output to stdout (silent under --json). */
  say(line: string): void;
  /** Notes to stderr (progress and the like). */
  note(line: string): void;
}

export function makeCtx(io: CliIO, json = false): Ctx {
  return {
    io,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    json,
    say: (line) => {
      if (!json) io.stdout.write(`${line}\n`);
    },
    note: (line) => io.stderr.write(`${line}\n`),
  };
}

/** The package root (folder of package.json). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Where the bundled default model lives. */
export const DEFAULT_MODEL_DIR = resolve(PACKAGE_ROOT, 'models/default');

export function resolvePath(ctx: Ctx, p: string): string {
  return isAbsolute(p) ? p : resolve(ctx.cwd, p);
}

/** `--model DIR`, default models/default in the package; must be a folder holding igpt.json. */
export async function resolveModelDir(ctx: Ctx, args: { values: { model?: string } }): Promise<string> {
  const given = args.values.model;
  const dir = given === undefined ? DEFAULT_MODEL_DIR : resolvePath(ctx, given);
  const st = await stat(dir).catch(() => undefined);
  if (!st) {
    throw new InputError(
      dir,
      given === undefined
        ? 'no default model bundle here; pass --model DIR or create one with `igpt export <hf-folder|owner/name> --out models/default`'
        : 'no such model bundle folder (create one with `igpt export ... --out DIR`)',
    );
  }
  if (!st.isDirectory()) throw new InputError(dir, 'is a file; --model takes a bundle folder (the one holding igpt.json)');
  const manifest = await stat(resolve(dir, 'igpt.json')).catch(() => undefined);
  if (!manifest) throw new InputError(dir, 'has no igpt.json: not a model bundle folder (create one with `igpt export`)');
  return dir;
}

export const BACKEND_OPTIONS = { backend: { type: 'string' }, dtype: { type: 'string' } } as const;

/** Loads the engine for the bundle folder with `--backend wasm|webgpu` (default wasm) and `--dtype`. */
export async function openEngine(ctx: Ctx, dir: string, args: OptionValues): Promise<{ engine: Engine; loadMs: number }> {
  const backend = choiceOption<Backend>(args, 'backend', ['wasm', 'webgpu'], 'wasm');
  const dtype = choiceOption<'fp32' | 'fp16' | 'q4' | 'auto'>(args, 'dtype', ['fp32', 'fp16', 'q4', 'auto'], 'auto');
  if (backend === 'webgpu') {
    let why = '';
    if (!(await setupNodeWebGPU((r) => (why = r)))) throw new InputError('--backend webgpu', why);
  }
  setWasmTiering(ctx.env);
  const files = await readFolderFiles(dir);
  const { loadEngine } = await import('../../engine/engine.ts');
  const options: EngineOptions = { backend, dtype };
  const t0 = performance.now();
  const engine = await loadEngine({ kind: 'files', files, label: dir }, options);
  return { engine, loadMs: performance.now() - t0 };
}

/**
 * V8's wasm tiering budget the CLI runs onnxruntime's wasm with: ten times V8's default
 * (1,800,000, "a rough approximation of bytes executed" before a function is compiled again
 * with TurboFan). Onnxruntime's binary holds two functions of 1.5 MB and 1.3 MB of wasm that
 * run once or twice as the engine's first generation starts; with the default budget V8 tiers
 * them up, and TurboFan takes 43 and 21 s for them on one quiet core (minutes on a loaded one).
 * That compilation held up the first generation for 42 s, or, on a loaded machine, the process's
 * exit (Node waits for it). At ten times the budget those two stay on Liftoff, while the kernels
 * that run millions of times still reach TurboFan within the first steps (docs/PERF.md, "Tiering").
 */
export const WASM_TIERING_BUDGET = 18_000_000;

export type WasmTiering = 'budget' | 'liftoff' | 'v8';
let tieringSet = false;

/**
 * Sets how V8 compiles onnxruntime's wasm in this process, from `IGPT_WASM_TIERING`:
 * `budget` (default: V8's tiering with WASM_TIERING_BUDGET), `liftoff` (baseline compiler only:
 * ready at once, slower kernels), `v8` (V8's defaults). Must run before the runtime's wasm
 * module is compiled; later calls have no effect on it.
 */
export function setWasmTiering(env: Record<string, string | undefined>): WasmTiering {
  const mode = (env.IGPT_WASM_TIERING ?? 'budget') as WasmTiering;
  if (!['budget', 'liftoff', 'v8'].includes(mode)) {
    throw new InputError('IGPT_WASM_TIERING', `must be budget, liftoff or v8, not "${mode}"`);
  }
  if (tieringSet) return mode;
  if (mode === 'budget') v8.setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
  if (mode === 'liftoff') v8.setFlagsFromString('--liftoff-only');
  tieringSet = true;
  return mode;
}

/** Reads an image file's bytes; a missing file is an InputError naming it. */
export async function readInputFile(path: string, shownAs: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(shownAs, 'no such file');
    if (code === 'EISDIR') throw new InputError(shownAs, 'is a folder, expected an image file');
    throw new InputError(shownAs, `cannot be read (${(e as Error).message})`);
  }
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function writeJson(ctx: Ctx, value: unknown): void {
  ctx.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
