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

  async convert(req: ConvertRequest, onEvent: (e: ConvertEvent) => void, signal?: AbortSignal): Promise<ConvertedModel> {
    try {
      return await this.client.call('convert', req, { onEvent, signal });
    } catch (e) {
      // Cancelling stops the worker at once (a download or a sync write in progress ends with it).
      if (signal?.aborted) this.stop();
      throw e;
    }
  }

  stop(): void {
    this.rpc?.terminate('The conversion was cancelled');
    this.rpc = null;
  }
}
