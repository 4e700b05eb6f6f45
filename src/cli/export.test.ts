import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleManifest } from '../bundle/index.ts';
import { startHubServer, type HubServer } from '../../test/hubserver.ts';
import { openCheckpoint } from '../convert/checkpoint.ts';
import { readFolderFiles } from './nodeFiles.ts';
import { writeRandomCheckpoint } from './randomCheckpoint.ts';
import { runCli } from '../../test/testio.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const FIXTURE = fileURLToPath(new URL('../../test/data/imagegpt-tiny-a', import.meta.url));
const HF_FILES = ['config.json', 'preprocessor_config.json', 'model.safetensors', 'pytorch_model.bin'];

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'igpt-export-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'igpt.json'), 'utf8')) as BundleManifest;

/** Every file the manifest lists exists with the listed size and sha256. */
function expectBundleIntact(dir: string): BundleManifest {
  const m = manifestOf(dir);
  for (const v of m.variants) {
    for (const f of v.files) {
      expect(readFileSync(join(dir, f.path)).length, f.path).toBe(f.bytes);
      expect(sha256(join(dir, f.path)), f.path).toBe(f.sha256);
    }
  }
  return m;
}

/** A copy of the fixture checkpoint with `edit` applied. */
function brokenCopy(name: string, edit: (dir: string) => void): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const f of HF_FILES) copyFileSync(join(FIXTURE, f), join(dir, f));
  edit(dir);
  return dir;
}

/** No leftovers of an aborted export (hidden temporary folders) in `parent`. */
const partials = (parent: string) => readdirSync(parent).filter((n) => n.includes('.partial-'));

/** Where each tensor's bytes are in a safetensors file, by (unnormalised) name. */
function safetensorsLayout(bytes: Buffer): { headerStart: number; headerLength: number; tensors: Record<string, { dtype: string; shape: number[]; start: number }> } {
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const tensors: Record<string, { dtype: string; shape: number[]; start: number }> = {};
  for (const [name, t] of Object.entries(header)) {
    if (name !== '__metadata__') tensors[name] = { dtype: t.dtype, shape: t.shape, start: 8 + headerLength + t.data_offsets[0] };
  }
  return { headerStart: 8, headerLength, tensors };
}

/** A fixture copy whose model.safetensors has `value` at element `index` of float32 tensor `name`. */
function poisonedCopy(dirName: string, name: string, index: number, value: number): string {
  return brokenCopy(dirName, (d) => {
    rmSync(join(d, 'pytorch_model.bin'));
    const path = join(d, 'model.safetensors');
    const bytes = readFileSync(path);
    const t = safetensorsLayout(bytes).tensors[name];
    expect(t.dtype).toBe('F32');
    bytes.writeFloatLE(value, t.start + 4 * index);
    writeFileSync(path, bytes);
  });
}

/** The pid of a process that has exited (for stale temporary folders). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

describe('igpt export', () => {
  it('exports from safetensors and from pytorch_model.bin to identical graphs', async () => {
    const a = join(tmp, 'st');
    const b = join(tmp, 'pt');
    const r1 = await runCli(['export', FIXTURE, '--out', a, '--attention-scale', 'transformers', '--json']);
    expect(r1.stderr).toBe('');
    expect(r1.code).toBe(0);
    const r2 = await runCli(['export', FIXTURE, '--out', b, '--attention-scale', 'transformers', '--prefer', 'pytorch']);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toMatch(/fp32 +model\.onnx: .*nodes per layer/);

    const ma = expectBundleIntact(a);
    const mb = expectBundleIntact(b);
    expect(ma.provenance.weightFiles).toEqual(['model.safetensors']);
    expect(mb.provenance.weightFiles).toEqual(['pytorch_model.bin']);
    expect(ma.config.attentionScale).toBe(0.5);
    expect(ma.provenance.attentionScaleMode).toBe('transformers');
    expect(ma.name).toBe('imagegpt-tiny-a');
    expect(readFileSync(join(a, 'model.onnx')).equals(readFileSync(join(b, 'model.onnx')))).toBe(true);

    const summary = JSON.parse(r1.stdout);
    expect(summary.out).toBe(a);
    expect(summary.variants).toHaveLength(1);
    expect(summary.variants[0]).toMatchObject({ dtype: 'fp32', graph: 'model.onnx', nodes_per_layer: ma.variants[0].nodesPerLayer });
    expect(summary.variants[0].bytes).toBe(readFileSync(join(a, 'model.onnx')).length);
  });

  it('writes both variants with --dtype fp32,fp16', async () => {
    const out = join(tmp, 'both');
    const r = await runCli(['export', FIXTURE, '--out', out, '--dtype', 'fp32,fp16', '--name', 'tiny']);
    expect(r.code).toBe(0);
    const m = expectBundleIntact(out);
    expect(m.name).toBe('tiny');
    expect(m.variants.map((v) => v.dtype)).toEqual(['fp32', 'fp16']);
    expect(readdirSync(out).sort()).toEqual(['igpt.json', 'model.fp16.onnx', 'model.onnx']);
    // fp16 weights: roughly half the size
    const [fp32, fp16] = m.variants.map((v) => v.files[0].bytes);
    expect(fp16).toBeLessThan(fp32 * 0.6);
    expect(m.provenance.attentionScaleMode).toBe('exact');
    expect(m.config.attentionScale).toBeCloseTo(1 / Math.sqrt(8), 12);
  });

  it('writes fp32 and q4 with --dtype fp32,q4', async () => {
    const out = join(tmp, 'q4');
    const r = await runCli(['export', FIXTURE, '--out', out, '--dtype', 'fp32,q4', '--attention-scale', '0.25', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const m = expectBundleIntact(out);
    expect(m.variants.map((v) => [v.dtype, v.graph])).toEqual([['fp32', 'model.onnx'], ['q4', 'model.q4.onnx']]);
    expect(readdirSync(out).sort()).toEqual(['igpt.json', 'model.onnx', 'model.q4.onnx']);
    expect(m.config.attentionScale).toBe(0.25);
    expect(m.provenance.attentionScaleMode).toBe('custom');
    const summary = JSON.parse(r.stdout);
    expect(summary.attention_scale_mode).toBe('custom');
    expect(summary.variants[1].quantization).toEqual({ op: 'MatMulNBits', bits: 4, blockSize: 32, symmetric: false });
  });

  it('fails on a config that is not ImageGPT, naming config.json; no --out folder is left', async () => {
    const dir = brokenCopy('gpt2', (d) => {
      const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      cfg.model_type = 'gpt2';
      cfg.architectures = ['GPT2LMHeadModel'];
      writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
    });
    const out = join(tmp, 'out-gpt2');
    const r = await runCli(['export', dir, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^igpt: \S*config\.json: .*gpt2/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
    expect(partials(tmp)).toEqual([]);
  });

  it('fails on a truncated model.safetensors, naming it; no --out folder is left', async () => {
    const dir = brokenCopy('trunc', (d) => {
      truncateSync(join(d, 'model.safetensors'), 200_000);
    });
    const out = join(tmp, 'out-trunc');
    const r = await runCli(['export', dir, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^igpt: \S*model\.safetensors\S*: /);
    expect(r.stderr).toMatch(/truncat|bytes|end of file|short/i);
    expect(existsSync(out)).toBe(false);
    expect(partials(tmp)).toEqual([]);
  });

  it('fails on an unknown dtype with exit code 1', async () => {
    const out = join(tmp, 'out-dtype');
    const r = await runCli(['export', FIXTURE, '--out', out, '--dtype', 'fp32,bf16']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('igpt: --dtype: unknown dtype "bf16" (use fp32, fp16, q4 or a list such as fp32,fp16,q4)\n');
    expect(existsSync(out)).toBe(false);
  });

  it('keeps an existing bundle intact when a new export over it fails midway', async () => {
    const out = join(tmp, 'keep');
    expect((await runCli(['export', FIXTURE, '--out', out])).code).toBe(0);
    const before = readFileSync(join(out, 'igpt.json'));
    // Corrupt the zip local header of one weight tensor: the checkpoint still opens (headers are
    // read lazily), so the failure comes while the bundle is being written.
    const dir = brokenCopy('badlocal', (d) => {
      const path = join(d, 'pytorch_model.bin');
      const bytes = readFileSync(path);
      const at = bytes.indexOf(Buffer.from('pytorch_model/data/23')) - 30;
      expect(bytes.readUInt32LE(at)).toBe(0x04034b50);
      bytes[at] = 0;
      writeFileSync(path, bytes);
    });
    await expect(openCheckpoint(await readFolderFiles(dir), { prefer: 'pytorch' })).resolves.toBeTruthy();
    const r = await runCli(['export', dir, '--out', out, '--dtype', 'fp32,fp16', '--prefer', 'pytorch']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('igpt: pytorch_model.bin: corrupt zip: bad local header for pytorch_model/data/23\n');
    expect(readFileSync(join(out, 'igpt.json')).equals(before)).toBe(true);
    expect(readdirSync(out).sort()).toEqual(['igpt.json', 'model.onnx']);
    expectBundleIntact(out);
    expect(partials(tmp)).toEqual([]);
    // and without an old bundle, nothing is left
    const fresh = join(tmp, 'fresh-fail');
    expect((await runCli(['export', dir, '--out', fresh, '--prefer', 'pytorch'])).code).toBe(1);
    expect(existsSync(fresh)).toBe(false);
    expect(partials(tmp)).toEqual([]);
  });

  it('refuses to replace a folder that is not a bundle, or the input folder itself', async () => {
    const other = join(tmp, 'not-a-bundle');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'notes.txt'), 'keep me');
    const r = await runCli(['export', FIXTURE, '--out', other]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not-a-bundle: exists and is not a model bundle/);
    expect(readFileSync(join(other, 'notes.txt'), 'utf8')).toBe('keep me');
    const self = brokenCopy('self', () => undefined);
    const r2 = await runCli(['export', self, '--out', self]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/is \(or contains\) the input checkpoint folder/);
    expect(existsSync(join(self, 'config.json'))).toBe(true);
  });

  it('refuses an --out inside the input checkpoint folder', async () => {
    const input = brokenCopy('outinside', () => undefined);
    for (const out of [join(input, 'bundle'), join(input, 'a', 'b')]) {
      const r = await runCli(['export', input, '--out', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`igpt: ${out}: the output folder is inside the input checkpoint folder ${input}; choose an --out outside it\n`);
      expect(existsSync(out)).toBe(false);
    }
    expect(partials(input)).toEqual([]);
    expect(readdirSync(input).sort()).toEqual([...HF_FILES].sort());
  });

  it('refuses NaN and infinite weights, naming the tensor; nothing is left', async () => {
    const nan = poisonedCopy('nan', 'transformer.h.1.mlp.c_fc.weight', 2 * 128 + 5, NaN);
    const out = join(tmp, 'out-nan');
    const r = await runCli(['export', nan, '--out', out, '--dtype', 'fp32,q4']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^igpt: model\.safetensors: tensor h\.1\.mlp\.c_fc\.weight holds NaN at \[2, 5\]: the checkpoint is corrupt/);
    expect(existsSync(out)).toBe(false);
    expect(partials(tmp)).toEqual([]);
    // an infinite bias (biases are read while the graph is built)
    const inf = poisonedCopy('inf', 'transformer.h.0.attn.c_attn.bias', 7, -Infinity);
    const r2 = await runCli(['export', inf, '--out', out]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/^igpt: model\.safetensors: tensor h\.0\.attn\.c_attn\.bias holds -Infinity at \[7\]/);
    // in q4, which reads the weight matrices through the quantiser
    const infW = poisonedCopy('infw', 'transformer.h.0.attn.c_proj.weight', 33, Infinity);
    const r3 = await runCli(['export', infW, '--out', out, '--dtype', 'q4']);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(/^igpt: model\.safetensors: tensor h\.0\.attn\.c_proj\.weight holds \+Infinity at \[1, 1\]/);
    expect(existsSync(out)).toBe(false);
    expect(partials(tmp)).toEqual([]);
  });

  it('refuses an integer tensor where a float weight belongs, naming it', async () => {
    const dir = brokenCopy('intdtype', (d) => {
      rmSync(join(d, 'pytorch_model.bin'));
      const path = join(d, 'model.safetensors');
      const bytes = readFileSync(path);
      const { headerLength } = safetensorsLayout(bytes);
      const header = bytes.subarray(8, 8 + headerLength).toString('utf8');
      const key = '"transformer.h.0.ln_1.weight":{"dtype":"F32"';
      expect(header).toContain(key);
      // same byte size: F32 -> I32 keeps the header and the data offsets valid
      bytes.write(header.replace(key, key.replace('F32', 'I32')), 8, 'utf8');
      writeFileSync(path, bytes);
    });
    const out = join(tmp, 'out-int');
    const r = await runCli(['export', dir, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('igpt: model.safetensors: tensor h.0.ln_1.weight has integer dtype I32 where a float tensor belongs (ImageGPT weights are F32, F16, BF16, F64)\n');
    expect(existsSync(out)).toBe(false);
  });

  it('removes temporary folders that an earlier, crashed export left behind', async () => {
    const out = join(tmp, 'stale');
    const pid = deadPid();
    const stale = join(tmp, `.stale.partial-${pid}-1700000000000`);
    mkdirSync(stale);
    writeFileSync(join(stale, 'model.onnx'), 'half a model');
    const alive = join(tmp, `.stale.partial-${process.pid}-1700000000001`); // this process: maybe still writing
    mkdirSync(alive);
    const other = join(tmp, `.other.partial-${pid}-1700000000002`); // another target: not ours to touch
    mkdirSync(other);
    const r = await runCli(['export', FIXTURE, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(alive)).toBe(true);
    expect(existsSync(other)).toBe(true);
    rmSync(alive, { recursive: true });
    rmSync(other, { recursive: true });
    expectBundleIntact(out);

    // A crash between moving the old bundle aside and moving the new one in: the old one comes back.
    const moved = join(tmp, `.stale.partial-${pid}-1700000000003.old`);
    const before = readFileSync(join(out, 'igpt.json'));
    rmSync(moved, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.rename(out, moved));
    const bad = brokenCopy('stale-bad', (d) => truncateSync(join(d, 'model.safetensors'), 1000));
    const r2 = await runCli(['export', bad, '--out', out]);
    expect(r2.code).toBe(1);
    expect(existsSync(moved)).toBe(false);
    expect(readFileSync(join(out, 'igpt.json')).equals(before)).toBe(true);
    expect(partials(tmp)).toEqual([]);
  });

  it('Ctrl-C (SIGINT) or SIGTERM during an export leaves no partial folder and no bundle', async () => {
    const input = join(tmp, 'rand-ckpt');
    await writeRandomCheckpoint(input, { nLayer: 8, nEmbd: 256, nHead: 4 }, 1);
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
      const parent = mkdtempSync(join(tmp, 'sig-'));
      const out = join(parent, 'bundle');
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'export', input, '--out', out, '--dtype', 'fp32,fp16,q4'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      // Wait until the export is writing its first graph into the temporary folder, then interrupt.
      const deadline = Date.now() + 90_000;
      let seen = false;
      while (Date.now() < deadline && child.exitCode === null) {
        const p = partials(parent);
        if (p.length === 1 && readdirSync(join(parent, p[0])).length > 0) {
          seen = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(seen, `no temporary folder seen; stderr: ${stderr}`).toBe(true);
      child.kill(signal);
      expect(await exited).toBe(code);
      expect(stderr).toContain(`igpt: export interrupted (${signal}); removed the unfinished bundle`);
      expect(readdirSync(parent)).toEqual([]);
    }
  });

  it('reports usage errors with exit code 2 and a missing input with exit code 1', async () => {
    expect((await runCli(['export', FIXTURE])).code).toBe(2);
    expect((await runCli(['export', FIXTURE, '--out', join(tmp, 'x'), '--prefer', 'onnx'])).code).toBe(2);
    const scale = await runCli(['export', FIXTURE, '--out', join(tmp, 'x'), '--attention-scale', 'torch']);
    expect(scale.code).toBe(2);
    expect(scale.stderr).toMatch(/^igpt export: --attention-scale must be exact, transformers or a positive number, got "torch"/);
    expect((await runCli(['export', FIXTURE, '--out', join(tmp, 'x'), '--attention-scale', '0'])).code).toBe(2);
    expect((await runCli(['export', FIXTURE, '--out', join(tmp, 'x'), '--q4-symmetric'])).code).toBe(2);
    expect((await runCli(['frobnicate'])).code).toBe(2);
    const r = await runCli(['export', join(tmp, 'no-such-folder'), '--out', join(tmp, 'y')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no-such-folder: no such folder, and not a hub model id/);
  });
});

describe('igpt export from the hub', () => {
  let hub: HubServer;
  beforeAll(async () => {
    hub = await startHubServer({ repos: { 'openai/imagegpt-tiny': FIXTURE } });
  });
  afterAll(() => hub.close());

  it('downloads owner/name into $IGPT_CACHE and converts it', async () => {
    const cache = join(tmp, 'cache');
    const out = join(tmp, 'from-hub');
    const env = { ...process.env, HF_ENDPOINT: hub.url, IGPT_CACHE: cache, HF_TOKEN: '' };
    const r = await runCli(['export', 'openai/imagegpt-tiny', '--out', out, '--attention-scale', 'transformers', '--json'], env);
    expect(r.stderr).not.toMatch(/^igpt: .*:/m);
    expect(r.code).toBe(0);
    const m = expectBundleIntact(out);
    expect(m.provenance.source).toBe('openai/imagegpt-tiny');
    expect(m.provenance.revision).toBe('main');
    expect(m.name).toBe('imagegpt-tiny');
    // same graph as a local export of the same files
    const local = join(tmp, 'hub-local');
    expect((await runCli(['export', FIXTURE, '--out', local, '--attention-scale', 'transformers'])).code).toBe(0);
    expect(readFileSync(join(out, 'model.onnx')).equals(readFileSync(join(local, 'model.onnx')))).toBe(true);
    const cached = join(cache, 'openai', 'imagegpt-tiny', 'main');
    expect(sha256(join(cached, 'model.safetensors'))).toBe(sha256(join(FIXTURE, 'model.safetensors')));
    expect(existsSync(join(cached, 'pytorch_model.bin'))).toBe(false); // safetensors found first
    expect(hub.requests.some((q) => q.path.endsWith('/config.json'))).toBe(true);
  });

  it('names the model when the hub has no such repo; nothing is written', async () => {
    const out = join(tmp, 'from-hub-missing');
    const env = { ...process.env, HF_ENDPOINT: hub.url, IGPT_CACHE: join(tmp, 'cache2'), HF_TOKEN: '' };
    const r = await runCli(['export', 'openai/no-such-model', '--out', out], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^igpt: openai\/no-such-model: no such model/m);
    expect(existsSync(out)).toBe(false);
  });
});
