import { describe, expect, it } from 'vitest';
import { choiceOption, intOption, numberListOption, numberOption, parseArgs, UsageError } from './args.ts';

const specs = { out: { type: 'string', short: 'o' }, json: { type: 'boolean' }, temperature: { type: 'string' } } as const;

describe('parseArgs', () => {
  it('reads values, inline values, short aliases, flags, positionals and --', () => {
    const a = parseArgs(['in', '--out', 'd1', '--temperature=0.5,1', '-o', 'd2', '--json', '--', '--not-an-option'], specs);
    expect(a.positionals).toEqual(['in', '--not-an-option']);
    expect(a.values.out).toBe('d2');
    expect(a.values.temperature).toBe('0.5,1');
    expect(a.values.json).toBe(true);
  });

  it('rejects unknown options, missing values and values on flags', () => {
    expect(() => parseArgs(['--nope'], specs)).toThrow(/unknown option --nope/);
    expect(() => parseArgs(['-x'], specs)).toThrow(UsageError);
    expect(() => parseArgs(['--out'], specs)).toThrow(/--out needs a value/);
    expect(() => parseArgs(['--out', '--json'], specs)).toThrow(/--out needs a value/);
    expect(() => parseArgs(['--json=1'], specs)).toThrow(/takes no value/);
  });

  it('accepts negative numbers as values', () => {
    expect(parseArgs(['--out', '-3'], specs).values.out).toBe('-3');
  });
});

describe('typed options', () => {
  const a = parseArgs(['--out', '12', '--temperature', '0.5, 1,2'], specs);
  it('parses integers, numbers and lists with ranges', () => {
    expect(intOption(a, 'out', 0, 0, 100)).toBe(12);
    expect(intOption(a, 'missing', 7, 0, 100)).toBe(7);
    expect(() => intOption(a, 'out', 0, 0, 10)).toThrow(/between 0 and 10, got 12/);
    expect(numberListOption(a, 'temperature', [1], 0, 10)).toEqual([0.5, 1, 2]);
    expect(() => numberListOption(parseArgs(['--temperature', '1,,2'], specs), 'temperature', [1], 0, 10)).toThrow(UsageError);
    expect(() => intOption(parseArgs(['--out', '1.5'], specs), 'out', 0, 0, 10)).toThrow(/must be an integer/);
    expect(() => numberOption(parseArgs(['--out', 'abc'], specs), 'out', 0, 0, 10)).toThrow(/must be a number, got "abc"/);
    expect(choiceOption(parseArgs(['--out', 'wasm'], specs), 'out', ['wasm', 'webgpu'], 'webgpu')).toBe('wasm');
    expect(() => choiceOption(a, 'out', ['wasm', 'webgpu'], 'wasm')).toThrow(/one of wasm, webgpu/);
  });
});

describe('igpt without a command', () => {
  it('prints usage on stderr with exit code 2; --help on stdout with 0', async () => {
    const { runCli } = await import('../../test/testio.ts');
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/usage: igpt export/);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: igpt bench/);
    const sub = await runCli(['complete', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/^usage: igpt complete/);
    const unknown = await runCli(['paint']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "paint"/);
  });
});
