/** The URL hash carries the settings, the prompt and a non-default model: read at start, written on change. */
import { decodeHash, encodeHash } from '../hash.ts';
import { useStore } from '../store.ts';
import { DEFAULT_MODEL_URL } from './model.ts';

export function currentHash(): string {
  const st = useStore.getState();
  const modelUrl = st.model.info?.sourceLabel;
  const defaultUrl = new URL(DEFAULT_MODEL_URL, location.href).href;
  return encodeHash({
    settings: st.settings,
    prompt: st.prompt.tokens ?? undefined,
    model: modelUrl && /^https?:/.test(modelUrl) && modelUrl !== defaultUrl ? modelUrl : undefined,
  });
}

/** Applies the page's hash to the store; returns the model URL it names, if any. */
export function readHash(): string | undefined {
  const st = useStore.getState();
  if (location.hash.length <= 1) return undefined;
  const h = decodeHash(location.hash);
  st.setSettings(h.settings);
  if (h.prompt) st.setPrompt(h.prompt, 'link');
  for (const e of h.errors) st.notify('warning', e);
  return h.model;
}

/** Keeps the hash up to date with the settings, the prompt and the loaded model. */
export function watchHash(): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return useStore.subscribe((s, prev) => {
    if (s.settings === prev.settings && s.prompt === prev.prompt && s.model.info === prev.model.info) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      const h = currentHash();
      if (h !== location.hash) history.replaceState(null, '', `${location.pathname}${location.search}${h}`);
    }, 250);
  });
}
