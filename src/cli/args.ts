/**
 * A small command-line parser for the `igpt` CLI: `--name value`, `--name=value`, boolean flags,
 * `--` ends options. Unknown options and missing values are usage errors (exit code 2).
 */

/** A usage error: wrong options or arguments. The CLI prints it with a hint and exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** 'flag' takes no value; 'string' takes one. */
  type: 'flag' | 'string';
  /** One-letter alias, e.g. 'o' for -o. */
  short?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface ParsedArgs {
  positionals: string[];
  /** Given string options (last one wins). */
  values: Map<string, string>;
  /** Given flags. */
  flags: Set<string>;
}

export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const positionals: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short) byShort.set(spec.short, name);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else if (/^-[A-Za-z]$/.test(arg)) {
      name = byShort.get(arg[1]);
      if (!name) throw new UsageError(`unknown option ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.type === 'flag') {
      if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
      flags.add(name);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`option --${name} needs a value`);
      value = next;
      i++;
    }
    values.set(name, value);
  }
  return { positionals, values, flags };
}

/** An integer option in [min, max]; `fallback` when absent. */
export function intOption(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  return parseIntIn(raw, `--${name}`, min, max);
}

export function parseIntIn(raw: string, what: string, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(raw.trim())) throw new UsageError(`${what} must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, got ${raw}`);
  return n;
}

/** A finite number option in [min, max]. */
export function numberOption(args: ParsedArgs, name: string, fallback: number, min: number, max: number): number {
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  return parseNumberIn(raw, `--${name}`, min, max);
}

export function parseNumberIn(raw: string, what: string, min: number, max: number): number {
  const s = raw.trim();
  const n = s === '' ? NaN : Number(s);
  if (!Number.isFinite(n)) throw new UsageError(`${what} must be a number, got "${raw}"`);
  if (n < min || n > max) throw new UsageError(`${what} must be between ${min} and ${max}, got ${raw}`);
  return n;
}

/** A comma-separated list of numbers, e.g. `--temperature 0.8,1`. */
export function numberListOption(args: ParsedArgs, name: string, fallback: number[], min: number, max: number, integer = false): number[] {
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) throw new UsageError(`--${name} must be a comma-separated list of numbers, got "${raw}"`);
  return parts.map((p) => (integer ? parseIntIn(p, `--${name}`, min, max) : parseNumberIn(p, `--${name}`, min, max)));
}

/** One of a fixed set of words. */
export function choiceOption<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T {
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  return raw as T;
}
