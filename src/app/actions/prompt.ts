/**
 * The prompt: uploads and examples, quantised with the model's palette in the image worker.
 * When the palette changes (another model), the uploaded image is quantised again.
 */
import { RpcClient } from '../../worker/rpc.ts';
import type { ImageApi } from '../../worker/protocol.ts';
import { useStore } from '../store.ts';
import { errorText } from './model.ts';

export const EXAMPLES_URL = `${import.meta.env.BASE_URL}examples/`;

export interface Example {
  file: string;
  title: string;
}

let images: RpcClient<ImageApi> | null = null;

/** `worker` is for tests of a worker that fails to load. */
function imageWorker(): RpcClient<ImageApi> {
  images ??= new RpcClient<ImageApi>(new Worker(new URL('../../worker/image.worker.ts', import.meta.url), { type: 'module' }), 'image');
  return images;
}

async function quantizeUpload(blob: Blob, name: string, label = name): Promise<boolean> {
  const st = useStore.getState();
  if (!st.palette) {
    st.notify('warning', `${name}: wait for the model's palette before adding an image`);
    return false;
  }
  st.set({ promptBusy: name });
  try {
    const { tokens } = await imageWorker().call('tokenize', { file: blob, name, clusters: st.palette.clusters });
    useStore.getState().setPrompt(tokens, label, { recordHistory: true, upload: { blob, name } });
    return true;
  } catch (e) {
    useStore.getState().notify('error', `Could not use the image: ${errorText(e)}`);
    return false;
  } finally {
    useStore.getState().set({ promptBusy: null });
  }
}

export function uploadImage(blob: Blob, name: string): Promise<boolean> {
  return quantizeUpload(blob, name);
}

let examples: Promise<Example[]> | null = null;
export function listExamples(): Promise<Example[]> {
  examples ??= fetch(`${EXAMPLES_URL}index.json`)
    .then((r) => (r.ok ? r.json() : []))
    .catch(() => []) as Promise<Example[]>;
  return examples;
}

export async function loadExample(ex: Example): Promise<boolean> {
  try {
    const res = await fetch(EXAMPLES_URL + ex.file);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return await quantizeUpload(await res.blob(), ex.file, ex.title);
  } catch (e) {
    useStore.getState().notify('error', `Could not load the example ${ex.file}: ${errorText(e)}`);
    return false;
  }
}

/** A new palette: quantise the upload again, or show the first example when there is no prompt yet. */
export function watchPalette(): () => void {
  return useStore.subscribe((s, prev) => {
    if (!s.palette || s.palette === prev.palette) return;
    const upload = s.prompt.upload;
    if (upload && prev.palette) void quantizeUpload(upload.blob, upload.name, s.prompt.label);
    else if (!s.prompt.tokens) void listExamples().then((list) => (list.length > 0 && !useStore.getState().prompt.tokens ? loadExample(list[0]) : false));
  });
}
