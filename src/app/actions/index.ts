/**
 * The app's side effects, by concern: model, prompt, runs, URL hash, export, keys. Each module
 * acts on the store; what one concern must do when another changes it does through store
 * subscriptions, installed here at start.
 */
import { useStore } from '../store.ts';
import { painter } from '../painter.ts';
import { runGridPng } from './exportGrid.ts';
import { engine, loadDefaultModel, loadModelFromUrl } from './model.ts';
import { CONVERTED_PREFIX, openConvertedModel } from './convert.ts';
import { watchPalette } from './prompt.ts';
import { watchRecording } from './record.ts';
import { watchRuns } from './runs.ts';
import { readHash, watchHash } from './urlHash.ts';

export { DEFAULT_MODEL_URL, loadModelFromFiles, loadModelFromUrl, wasmNotice } from './model.ts';
export { EXAMPLES_URL, listExamples, loadExample, uploadImage, type Example } from './prompt.ts';
export { canGenerate, generate, scorePrompt, stop, toggleRun } from './runs.ts';
export { exportGrid } from './exportGrid.ts';
export { recordingSupported } from './record.ts';
export { handleKey, toggleFullscreen } from './keys.ts';

/** Reads the hash, wires the concerns together, then loads the model the hash names (or the default). */
export async function start(): Promise<void> {
  if (new URLSearchParams(location.search).has('debug')) {
    (window as unknown as { igptDebug: unknown }).igptDebug = {
      /** Destroy the worker's WebGPU device, to see the app recover. */
      loseDevice: () => engine().debugLoseDevice(),
      /** The last run's grid as PNG bytes (what Export PNG downloads). */
      runGridPng: () => Array.from(runGridPng() ?? []),
    };
  }
  const model = readHash();
  watchHash();
  watchPalette();
  watchRuns();
  watchRecording();
  const st = useStore.getState();
  painter.speed = st.speed;
  painter.view = st.view;
  useStore.subscribe((s, prev) => {
    if (s.speed !== prev.speed) painter.speed = s.speed;
    if (s.view !== prev.view) painter.setView(s.view);
  });
  // A model converted in this browser (#model=converted:<id>) opens from OPFS, offline.
  if (model?.startsWith(CONVERTED_PREFIX)) {
    if (await openConvertedModel(model.slice(CONVERTED_PREFIX.length))) return;
  } else if (model && (await loadModelFromUrl(model))) return;
  await loadDefaultModel();
}
export { canRunProbe, chooseProbeData, exportProbeCsv, exportProbePng, inspectProbeData, probeCsvText, runProbe, setProbeFolder, stopProbe } from './probe.ts';
