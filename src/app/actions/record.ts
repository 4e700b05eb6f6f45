/**
 * Recording a run for slides: when armed, the next run is drawn frame by frame (the original, then
 * every sample, as on screen) onto an offscreen canvas whose stream MediaRecorder turns into a WebM.
 */
import { IMAGE_SIZE } from '../../bundle/index.ts';
import { painter } from '../painter.ts';
import { useStore } from '../store.ts';

const CELL = 256;
const GAP = 16;

export function recordingSupported(): boolean {
  return typeof MediaRecorder !== 'undefined' && typeof HTMLCanvasElement.prototype.captureStream === 'function';
}

function mimeType(): string {
  for (const t of ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm']) if (MediaRecorder.isTypeSupported(t)) return t;
  return 'video/webm';
}

/** Records from now until stop(): a grid of the run's original and samples, redrawn every frame. */
function startRecording(rows: number, cols: number, prompt: Int32Array, rgb: Uint8Array): () => Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = (cols + 1) * CELL + (cols + 2) * GAP;
  canvas.height = rows * CELL + (rows + 1) * GAP;
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  const tile = document.createElement('canvas');
  tile.width = tile.height = IMAGE_SIZE;
  const tctx = tile.getContext('2d')!;
  const original = new ImageData(IMAGE_SIZE, IMAGE_SIZE);
  prompt.forEach((t, i) => original.data.set([rgb[3 * t], rgb[3 * t + 1], rgb[3 * t + 2], 255], 4 * i));
  const cell = (img: ImageData, r: number, c: number) => {
    tctx.putImageData(img, 0, 0);
    ctx.drawImage(tile, GAP + c * (CELL + GAP), GAP + r * (CELL + GAP), CELL, CELL);
  };
  let frame = 0;
  const draw = () => {
    ctx.fillStyle = '#111318';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    cell(original, 0, 0);
    for (let i = 0; i < rows * cols; i++) {
      const img = painter.imageData(i);
      if (img) cell(img, Math.floor(i / cols), 1 + (i % cols));
    }
    frame = requestAnimationFrame(draw);
  };
  draw();
  const recorder = new MediaRecorder(canvas.captureStream(30), { mimeType: mimeType() });
  const chunks: Blob[] = [];
  recorder.ondataavailable = (e) => e.data.size > 0 && chunks.push(e.data);
  recorder.start(250);
  return () =>
    new Promise((resolve) => {
      recorder.onstop = () => {
        cancelAnimationFrame(frame);
        resolve(new Blob(chunks, { type: recorder.mimeType || 'video/webm' }));
      };
      recorder.stop();
    });
}

/** Arms recording for the next run; the finished recording lands in the store as a download URL. */
export function watchRecording(): () => void {
  let stop: (() => Promise<Blob>) | null = null;
  return useStore.subscribe((s, prev) => {
    const { run } = s;
    if (run.phase === 'running' && prev.run.phase !== 'running' && s.recording === 'armed' && run.layout && run.prompt && s.palette) {
      stop = startRecording(run.layout.rows, run.layout.cols, run.prompt, s.palette.rgb);
      s.set({ recording: 'recording' });
    } else if (stop && run.phase !== 'running' && prev.run.phase === 'running') {
      const finish = stop;
      stop = null;
      // Hold the last frame for a moment, then offer the file.
      setTimeout(async () => {
        const blob = await finish();
        const old = useStore.getState().recordingFile;
        if (old) URL.revokeObjectURL(old.url);
        useStore.getState().set({ recording: 'off', recordingFile: { url: URL.createObjectURL(blob), bytes: blob.size, type: blob.type } });
      }, 700);
    }
  });
}
