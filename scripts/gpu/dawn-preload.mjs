// `node --import ./dawn-preload.mjs igpt.mjs ...`: creates navigator.gpu from Dawn with the instance
// flags in IGPT_DAWN_FLAGS (space separated, e.g. "enable-dawn-features=vulkan_enable_f16_on_nvidia")
// before the CLI starts; the CLI then uses that navigator.gpu instead of creating its own.
import { create, globals } from 'webgpu';

const flags = (process.env.IGPT_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
if (flags.length > 0) {
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: create(flags) }, configurable: true, writable: true });
}
