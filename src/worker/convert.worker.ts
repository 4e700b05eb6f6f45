/// <reference lib="webworker" />
/**
 * The module worker that converts checkpoints into bundles in OPFS (ConvertApi, over rpc.ts).
 * The converter is src/convert, the same code as `igpt export`; src/convert/web adds the hub
 * download and the OPFS sink.
 */
import { convertToOpfs, planHub } from '../convert/web/convertToOpfs.ts';
import type { ConvertApi } from './protocol.ts';
import { serve } from './rpc.ts';

declare const self: DedicatedWorkerGlobalScope;

serve<ConvertApi>(
  {
    plan: (arg, { signal }) => planHub(arg, signal),
    convert: (req, { emit, signal }) => convertToOpfs(req, emit, signal),
  },
  self,
);
