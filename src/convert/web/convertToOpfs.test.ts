import { describe, expect, it } from 'vitest';
import { InputError } from '../../errors.ts';
import { checkQuota, describeBytes, estimateBundleBytes } from './convertToOpfs.ts';

const storage = (quota: number | undefined, usage: number | undefined) => ({ estimate: async () => ({ quota, usage }) as StorageEstimate });

describe('describeBytes', () => {
  it('gives a rounded size and the exact count', () => {
    expect(describeBytes(512)).toBe('512 bytes');
    expect(describeBytes(1_523_042)).toBe('1.52 MB (1,523,042 bytes)');
    expect(describeBytes(1_234_567_890)).toBe('1.23 GB (1,234,567,890 bytes)');
  });
});

describe('checkQuota', () => {
  it('refuses when the estimate leaves less room than needed, naming both byte counts', async () => {
    const err = await checkQuota(2_000_000, storage(1_500_000, 1_000_000)).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.input).toBe('browser storage');
    expect(err.problem).toContain('needs about 2.00 MB (2,000,000 bytes)');
    expect(err.problem).toContain('allows only 500.0 kB (500,000 bytes) more');
    expect(err.problem).toContain('Nothing was downloaded or written');
  });

  it('accepts when there is room, and when the browser gives no estimate', async () => {
    await expect(checkQuota(400_000, storage(1_500_000, 1_000_000))).resolves.toBeUndefined();
    await expect(checkQuota(400_000, storage(undefined, undefined))).resolves.toBeUndefined();
    await expect(checkQuota(400_000, undefined)).resolves.toBeUndefined();
  });

  it('counts usage above the quota as no room at all', async () => {
    const err = await checkQuota(1, storage(100, 200)).catch((e) => e);
    expect(err.problem).toContain('allows only 0 bytes more');
  });
});

describe('estimateBundleBytes', () => {
  it('scales fp32 checkpoint bytes by the precision', () => {
    expect(estimateBundleBytes(4_000_000, 'fp32')).toBe(4_000_000);
    expect(estimateBundleBytes(4_000_000, 'fp16')).toBe(2_000_000);
    expect(estimateBundleBytes(4_000_000, 'q4')).toBe(578_125);
  });
});
