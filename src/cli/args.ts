/**
 * Command-line parsing for the `igpt` CLI, on node:util's parseArgs: `--name value`, `--name=value`,
 * `-n value`, boolean flags, `--` ends options. Unknown options, missing values and values given to
 * flags are usage errors (exit code 2). A value may start with '-' (`--seed -3`) but not with '--'.
 */
import { parseArgs as nodeParseArgs } from 'node:util';

/** A usage error: wrong options or arguments. The CLI prints it with a hint and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionSpecs = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export interface ParsedArgs<S extends OptionSpecs = OptionSpecs> {
  positionals: string[];
  /** Given options (last one wins): the string, or true for a given flag. */
  values: { [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : string };
}

/** What the typed option readers below need. */
export type OptionValues = { values: Readonly<Record<string, string | boolean | undefined>> };

export function parseArgs<S extends OptionSpecs>(argv: readonly string[], specs: S): ParsedArgs<S> {
  // Not strict: strict mode refuses values starting with '-' (negative numbers); the checks below replace it.
  const { values, positionals, tokens } = nodeParseArgs({ args: [...argv], options: specs, strict: false, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const type = Object.hasOwn(specs, t.name) ? specs[t.name].type : undefined;
    if (!type) throw new UsageError(`unknown option ${t.rawName}`);
    if (type === 'boolean' && t.value !== undefined) throw new UsageError(`option --${t.name} takes no value`);
    if (type === 'string' && (t.value === undefined || (!t.inlineValue && /^--./.test(t.value)))) throw new UsageError(`option --${t.name} needs a value`);
  }
  return { positionals, values } as ParsedArgs<S>;
}

function stringValue(args: OptionValues, name: string): string | undefined {
  const raw = args.values[name];
  return typeof raw === 'string' ? raw : undefined;
}

/** An integer option in [min, max]; `fallback` when absent. */
export function intOption(args: OptionValues, name: string, fallback: number, min: number, max: number): number {
  const raw = stringValue(args, name);
  return raw === undefined ? fallback : parseIntIn(raw, `--${name}`, min, max);
}

export function parseIntIn(raw: string, what: string, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(raw.trim())) throw new UsageError(`${what} must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, got ${raw}`);
  return n;
}

/** A finite number option in [min, max]. */
export function numberOption(args: OptionValues, name: string, fallback: number, min: number, max: number): number {
  const raw = stringValue(args, name);
  return raw === undefined ? fallback : parseNumberIn(raw, `--${name}`, min, max);
}

export function parseNumberIn(raw: string, what: string, min: number, max: number): number {
  const s = raw.trim();
  const n = s === '' ? NaN : Number(s);
  if (!Number.isFinite(n)) throw new UsageError(`${what} must be a number, got "${raw}"`);
  if (n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, got ${raw}`);
  return n;
}

/** A comma-separated list of numbers, e.g. `--temperature 0.8,1`. */
export function numberListOption(args: OptionValues, name: string, fallback: number[], min: number, max: number, integer = false): number[] {
  const raw = stringValue(args, name);
  if (raw === undefined) return fallback;
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`--${name} must be a comma-separated list of numbers, got "${raw}"`);
  return parts.map((p) => (integer ? parseIntIn(p, `--${name}`, min, max) : parseNumberIn(p, `--${name}`, min, max)));
}

/** One of a fixed set of words. */
export function choiceOption<T extends string>(args: OptionValues, name: string, choices: readonly T[], fallback: T): T {
  const raw = stringValue(args, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  return raw as T;
}
