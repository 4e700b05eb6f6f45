/** The convert worker seen from the page: one worker, started on first use. */
import type { ConvertEvent, ConvertRequest, HubPlan } from '../convert/web/convertToOpfs.ts';
import type { ConvertedModel } from '../convert/web/opfs.ts';
import type { ConvertApi } from './protocol.ts';
import { RpcClient } from './rpc.ts';

export class ConvertClient {
  private rpc: RpcClient<ConvertApi> | null = null;

  private get client(): RpcClient<ConvertApi> {
    this.rpc ??= new RpcClient<ConvertApi>(new Worker(new URL('./convert.worker.ts', import.meta.url), { type: 'module' }), 'convert');
    return this.rpc;
  }

  plan(arg: { endpoint: string; repo: string; revision: string }, signal?: AbortSignal): Promise<HubPlan> {
    return this.client.call('plan', arg, { signal });
  }

  /**
   * Converts; cancelling stops the worker at once (a download or a write in progress ends with it:
   * the partial download stays for a resume, the unfinished bundle folder is removed from the list).
   */
  async convert(req: ConvertRequest, onEvent: (e: ConvertEvent) => void, signal?: AbortSignal): Promise<ConvertedModel> {
    const call = this.client.call('convert', req, { onEvent });
    if (!signal) return call;
    let onAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        this.stop();
        reject(new DOMException('The conversion was cancelled', 'AbortError'));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([call, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  stop(): void {
    this.rpc?.terminate('The conversion was cancelled');
    this.rpc = null;
  }
}
