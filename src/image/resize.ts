/**
 * Pillow-exact `Image.resize(size, Image.BILINEAR)` for 8-bit RGB (and PyTorch's uint8 variant).
 *
 * Reproduces libImaging/Resample.c (ImagingResample with the bilinear filter, support 1.0):
 * - coefficients per output pixel: the filter is stretched by the downscale factor
 *   (`filterscale = max(1, in/out)`), so downscaling is antialiased; window bounds are
 *   `xmin = trunc(center - support + 0.5)`, `xmax = trunc(center + support + 0.5)`, clamped;
 *   weights are normalised to sum 1 in float64;
 * - weights are converted to fixed point with PRECISION_BITS = 32 - 8 - 2 = 22
 *   (`trunc(w * 2^22 ± 0.5)`);
 * - each pass accumulates `2^21 + Σ pixel * k` in integers and clips `acc >> 22` to 0..255,
 *   so the intermediate image is rounded to 8 bits between the passes, exactly as Pillow;
 * - separable: horizontal pass first (only over the source rows the vertical pass will read),
 *   then vertical; a pass is skipped when that dimension is unchanged.
 * Pillow's `Image.resize` with the default `reducing_gap=None` does no box pre-reduction, so none
 * is done here. No crop and no aspect preservation (squash).
 */

const PILLOW_PRECISION_BITS = 32 - 8 - 2;

/**
 * Fixed-point flavour of the same antialiased bilinear resample:
 * - `'pillow'`: Pillow's Resample.c, 22-bit weights (PRECISION_BITS = 32 - 8 - 2).
 * - `'torch'`: PyTorch's uint8 `interpolate(mode='bilinear', antialias=True)` (what torchvision's
 *   `F.resize` and hence transformers' fast ImageGPT processor use): identical windows and float64
 *   weights, but the weights are stored as int16 with a per-axis precision `p`, the largest p <= 22
 *   with `trunc(0.5 + maxWeight * 2^p) < 2^15`; accumulate `2^(p-1) + Σ pixel*w`, then `>> p`, clip.
 *   It differs from Pillow by ±1 on a few pixels.
 */
export type ResampleFlavour = 'pillow' | 'torch';

interface Coeffs {
  precision: number;
  ksize: number;
  /** [xmin, count] per output pixel. */
  bounds: Int32Array;
  /** Fixed-point weights, ksize per output pixel. */
  kk: Int32Array;
}

function bilinearFilter(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the box [0, inSize). */
function precomputeCoeffs(inSize: number, outSize: number, flavour: ResampleFlavour): Coeffs {
  const support0 = 1.0; // bilinear filter support
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = support0 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Float64Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C casts (int) truncate toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bilinearFilter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) weights[xx * ksize + x] = ww !== 0 ? k[x] / ww : k[x];
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  let precision = PILLOW_PRECISION_BITS;
  if (flavour === 'torch') {
    let wMax = 0;
    for (let i = 0; i < weights.length; i++) if (weights[i] > wMax) wMax = weights[i];
    for (precision = 0; precision < 22; precision++) {
      if (Math.trunc(0.5 + wMax * 2 ** (precision + 1)) >= 1 << 15) break;
    }
  }
  const one = 2 ** precision;
  const kk = new Int32Array(outSize * ksize);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    kk[i] = w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one);
  }
  return { precision, ksize, bounds, kk };
}

function clip8(acc: number, precision: number): number {
  const v = acc >> precision;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resize packed 8-bit pixels (`channels` per pixel, row-major) exactly as Pillow's bilinear resample.
 * Works for any channel count (Pillow treats each band independently).
 */
export function resizeBilinear(
  src: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
  channels = 3,
  flavour: ResampleFlavour = 'pillow',
): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resizeBilinear: bad source size ${width}x${height}`);
  }
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth < 1 || outHeight < 1) {
    throw new RangeError(`resizeBilinear: bad target size ${outWidth}x${outHeight}`);
  }
  if (src.length !== width * height * channels) {
    throw new RangeError(
      `resizeBilinear: ${src.length} values for ${width}x${height}x${channels} (want ${width * height * channels})`,
    );
  }
  const needH = outWidth !== width;
  const needV = outHeight !== height;
  if (!needH && !needV) return Uint8Array.from(src);

  const horiz = precomputeCoeffs(width, outWidth, flavour);
  const vert = precomputeCoeffs(height, outHeight, flavour);

  let cur: Uint8Array | Uint8ClampedArray = src;
  let curW = width;
  const vBounds = Int32Array.from(vert.bounds);

  if (needH) {
    // Only the source rows [yFirst, yLast) are needed by the vertical pass.
    let yFirst = 0;
    let yLast = height;
    if (needV) {
      yFirst = vert.bounds[0];
      yLast = vert.bounds[outHeight * 2 - 2] + vert.bounds[outHeight * 2 - 1];
      for (let i = 0; i < outHeight; i++) vBounds[i * 2] -= yFirst;
    }
    const rows = yLast - yFirst;
    const tmp = new Uint8Array(outWidth * rows * channels);
    const { ksize, bounds, kk, precision } = horiz;
    const half = 2 ** (precision - 1);
    for (let y = 0; y < rows; y++) {
      const rowIn = (y + yFirst) * width * channels;
      const rowOut = y * outWidth * channels;
      for (let xx = 0; xx < outWidth; xx++) {
        const xmin = bounds[xx * 2];
        const n = bounds[xx * 2 + 1];
        const kOff = xx * ksize;
        for (let c = 0; c < channels; c++) {
          let acc = half;
          let p = rowIn + xmin * channels + c;
          for (let x = 0; x < n; x++, p += channels) acc += cur[p] * kk[kOff + x];
          tmp[rowOut + xx * channels + c] = clip8(acc, precision);
        }
      }
    }
    cur = tmp;
    curW = outWidth;
  }

  if (!needV) return cur instanceof Uint8Array && cur !== src ? cur : Uint8Array.from(cur);

  const out = new Uint8Array(curW * outHeight * channels);
  const { ksize, kk, precision } = vert;
  const half = 2 ** (precision - 1);
  const stride = curW * channels;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = vBounds[yy * 2];
    const n = vBounds[yy * 2 + 1];
    const kOff = yy * ksize;
    const rowOut = yy * stride;
    for (let i = 0; i < stride; i++) {
      let acc = half;
      let p = ymin * stride + i;
      for (let y = 0; y < n; y++, p += stride) acc += cur[p] * kk[kOff + y];
      out[rowOut + i] = clip8(acc, precision);
    }
  }
  return out;
}

/**
 * Resize RGB to the 32x32 iGPT input (squash). Default flavour `'torch'` reproduces the reference
 * token ids of transformers' ImageGPT processor (torchvision resize); `'pillow'` is Pillow-exact.
 */
export function resizeTo32(
  rgb: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  flavour: ResampleFlavour = 'torch',
): Uint8Array {
  return resizeBilinear(rgb, width, height, 32, 32, 3, flavour);
}
