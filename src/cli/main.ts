/**
 * The `igpt` command line: export, score, complete, bench, random, probe.
 * `run(argv, io)` is the whole CLI in-process (tests call it); run as a script it uses the real
 * process streams and exits with its code (0 ok, 1 bad input or failure, 2 usage error).
 *
 * WebGPU (`--backend webgpu`) uses Dawn; without a GPU driver, start the process with
 * `LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json`
 * to use the SwiftShader software Vulkan driver (see nodeWebgpu.ts). The default backend is wasm.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.ts';
import { UsageError } from './args.ts';
import { BENCH_USAGE, benchCommand } from './commands/bench.ts';
import type { CliIO } from './commands/common.ts';
import { COMPLETE_USAGE, completeCommand } from './commands/complete.ts';
import { EXPORT_USAGE, exportCommand } from './commands/export.ts';
import { PROBE_USAGE, probeCommand } from './commands/probe.ts';
import { RANDOM_USAGE, randomCommand } from './commands/random.ts';
import { SCORE_USAGE, scoreCommand } from './commands/score.ts';

export type { CliIO } from './commands/common.ts';

const COMMANDS: Record<string, { usage: string; run: (argv: string[], io: CliIO) => Promise<number> }> = {
  export: { usage: EXPORT_USAGE, run: exportCommand },
  score: { usage: SCORE_USAGE, run: scoreCommand },
  complete: { usage: COMPLETE_USAGE, run: completeCommand },
  bench: { usage: BENCH_USAGE, run: benchCommand },
  random: { usage: RANDOM_USAGE, run: randomCommand },
  probe: { usage: PROBE_USAGE, run: probeCommand },
};

export const USAGE = `igpt: Image GPT on the command line

${Object.values(COMMANDS)
  .map((c) => c.usage)
  .join('\n\n')}

Errors print one line "igpt: <input>: <problem>" on stderr; exit code 1 (2 for usage errors).
--backend webgpu without a GPU driver: LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json igpt ...`;

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** Runs the CLI; returns the exit code. Never throws. */
export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' && rest[0] ? COMMANDS[rest[0]] : undefined;
    (name === undefined ? io.stderr : io.stdout).write(`${target ? target.usage : USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`igpt: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see igpt --help)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run([...rest], io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`igpt ${name}: ${oneLine(e.message)}\n${command.usage.split('\n')[0]}\n`);
      return 2;
    }
    if (e instanceof InputError) {
      io.stderr.write(`igpt: ${oneLine(`${e.input}: ${e.problem}`)}\n`);
      return 1;
    }
    const err = e as Error;
    io.stderr.write(`igpt: ${oneLine(err?.message ?? String(e))}\n`);
    if (process.env.IGPT_DEBUG && err?.stack) io.stderr.write(`${err.stack}\n`);
    return 1;
  }
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const code = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
  // Exit explicitly (the wasm runtime may keep worker threads alive), once stdout has drained.
  process.stdout.write('', () => process.exit(code));
}
