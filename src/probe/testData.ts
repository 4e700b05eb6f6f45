/** Synthetic probe data for the tests: Gaussian class clusters and pure noise, seeded. */
import { Rng } from '../engine/rng.ts';

export function gaussian(rng: Rng): number {
  const u = 1 - rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}

/**
 * Features [images, layers, width]: layer `signalLayer` holds class clusters (class k's mean is
 * `separation` along axis k), the other layers are noise unrelated to the labels.
 */
export function syntheticFeatures(images: number, layers: number, width: number, classes: number, seed: number, signalLayer: number, separation = 6) {
  const rng = new Rng(seed);
  const labels = Int32Array.from({ length: images }, (_, i) => i % classes);
  const features = new Float32Array(images * layers * width);
  for (let i = 0; i < images; i++) {
    for (let l = 0; l < layers; l++) {
      for (let j = 0; j < width; j++) {
        const mean = l === signalLayer && j === labels[i] % width ? separation : 0;
        features[(i * layers + l) * width + j] = mean + gaussian(rng) + (l === signalLayer ? 0 : 3);
      }
    }
  }
  return { features, labels };
}
