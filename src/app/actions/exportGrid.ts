/** "Export PNG": the run's grid through the same code as `igpt complete --out` (src/image/grid.ts). */
import { completionGrid, encodeRgbPng } from '../../image/index.ts';
import { painter } from '../painter.ts';
import { useStore } from '../store.ts';

export function runGridPng(): Uint8Array | null {
  const st = useStore.getState();
  const layout = st.run.layout;
  const run = painter.runTokens();
  if (!layout || !st.palette || !run) return null;
  return encodeRgbPng(completionGrid(run.prompt, run.keptLen, run.generated, layout.rows, st.palette.clusters));
}

export function exportGrid(): void {
  const png = runGridPng();
  if (!png) return;
  const st = useStore.getState();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  a.download = `igpt-seed${st.settings.seed}-rows${st.run.keptRows}.png`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
