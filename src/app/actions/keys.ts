/** Keyboard shortcuts and fullscreen. */
import { useStore } from '../store.ts';
import { toggleRun } from './runs.ts';

export function toggleFullscreen(): void {
  if (document.fullscreenElement) void document.exitFullscreen();
  else void document.documentElement.requestFullscreen?.().catch(() => undefined);
}

/** Space generate/stop, R new seed, Left/Right temperature (playground page only), F fullscreen, P presentation, Ctrl+Z/Y undo/redo. */
export function handleKey(e: KeyboardEvent): void {
  const t = e.target as HTMLElement | null;
  const tag = t?.tagName;
  const typing =
    tag === 'TEXTAREA' || tag === 'SELECT' || (tag === 'INPUT' && !['range', 'checkbox', 'radio', 'button'].includes((t as HTMLInputElement).type));
  if (typing) return;
  const st = useStore.getState();
  if ((e.ctrlKey || e.metaKey) && !e.altKey) {
    if (e.key === 'z' && !e.shiftKey) {
      st.undo();
      e.preventDefault();
    } else if (e.key === 'y' || (e.key === 'z' && e.shiftKey) || e.key === 'Z') {
      st.redo();
      e.preventDefault();
    }
    return;
  }
  if (e.altKey || e.metaKey) return;
  // On the Probe page the playground's keys (run, seed, temperature) do nothing.
  if (st.page === 'probe' && [' ', 'r', 'R', 'ArrowLeft', 'ArrowRight'].includes(e.key)) return;
  switch (e.key) {
    case ' ':
      if (tag === 'BUTTON' || tag === 'INPUT') return; // let the focused control act
      e.preventDefault();
      toggleRun();
      break;
    case 'r':
    case 'R':
      st.newSeed();
      break;
    case 'ArrowLeft':
    case 'ArrowRight':
      // Arrows belong to a focused control that uses them (sliders, tabs, the drawing canvas, the
      // palette); on the page or a plain button they change the temperature (for the stage).
      if (t?.closest('input, select, textarea, canvas[tabindex], [role="tab"], [role="radio"], [role="slider"], [role="listbox"]')) return;
      e.preventDefault();
      st.nudgeTemperature(e.key === 'ArrowLeft' ? -0.05 : 0.05);
      break;
    case 'f':
    case 'F':
      toggleFullscreen();
      break;
    case 'p':
    case 'P':
      st.set({ presentation: !st.presentation });
      break;
    case 'Escape':
      if (st.presentation && !document.fullscreenElement) st.set({ presentation: false });
      break;
  }
}
