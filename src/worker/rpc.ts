/**
 * A small typed RPC over postMessage, used by both workers. A call carries an id; the worker
 * answers with events (any number) and then a result or an error; the caller can cancel a call
 * (its handler sees an AbortSignal). A worker that fails to load or crashes rejects every pending
 * and later call with a message naming the worker, so nothing waits forever.
 */
import { serializeError, WorkerCallError, type WorkerError } from './protocol.ts';

/** An API: method name -> its argument, result and event types. */
export type Api = Record<string, { arg: unknown; result: unknown; event?: unknown }>;

type Message =
  | { rpc: 'call'; id: number; method: string; arg: unknown }
  | { rpc: 'cancel'; id: number }
  | { rpc: 'event'; id: number; event: unknown }
  | { rpc: 'result'; id: number; value: unknown }
  | { rpc: 'error'; id: number; error: WorkerError }
  | { rpc: 'notice'; notice: unknown };

export interface CallContext<E> {
  signal: AbortSignal;
  emit(event: E, transfer?: Transferable[]): void;
}

export type Handlers<A extends Api> = {
  [K in keyof A]: (arg: A[K]['arg'], ctx: CallContext<A[K]['event']>) => Promise<A[K]['result']> | A[K]['result'];
};

interface Port {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((ev: MessageEvent) => unknown) | null;
}

/** Worker side: runs calls one at a time (a session must never run twice at once); cancels act at once. */
export function serve<A extends Api>(handlers: Handlers<A>, port: Port, transferOf: (value: unknown) => Transferable[] = () => []) {
  const aborts = new Map<number, AbortController>();
  let chain: Promise<void> = Promise.resolve();
  const send = (m: Message, transfer: Transferable[] = []) => port.postMessage(m, transfer);
  port.onmessage = (ev: MessageEvent<Message>) => {
    const m = ev.data;
    if (m.rpc === 'cancel') return void aborts.get(m.id)?.abort();
    if (m.rpc !== 'call') return;
    const abort = new AbortController();
    aborts.set(m.id, abort);
    chain = chain.then(async () => {
      try {
        const handler = handlers[m.method as keyof A];
        if (!handler) throw new Error(`unknown method ${m.method}`);
        const ctx = { signal: abort.signal, emit: (event: unknown, transfer?: Transferable[]) => send({ rpc: 'event', id: m.id, event }, transfer) };
        const value = await handler(m.arg, ctx);
        send({ rpc: 'result', id: m.id, value }, transferOf(value));
      } catch (e) {
        send({ rpc: 'error', id: m.id, error: serializeError(e) });
      } finally {
        aborts.delete(m.id);
      }
    });
  };
  return { notice: (notice: unknown) => send({ rpc: 'notice', notice }) };
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onEvent?(e: unknown): void;
}

/** UI side of a worker. */
export class RpcClient<A extends Api> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | null = null;

  constructor(
    private readonly worker: Worker,
    /** Named in errors: "the image worker failed to load". */
    readonly name: string,
    onNotice?: (notice: unknown) => void,
  ) {
    worker.onmessage = (ev: MessageEvent<Message>) => {
      const m = ev.data;
      if (m.rpc === 'notice') return void onNotice?.(m.notice);
      if (m.rpc === 'call' || m.rpc === 'cancel') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.rpc === 'event') return void p.onEvent?.(m.event);
      this.pending.delete(m.id);
      if (m.rpc === 'result') p.resolve(m.value);
      else p.reject(new WorkerCallError(m.error));
    };
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.fail(new Error(`The ${name} worker failed to load or crashed: ${ev.message || 'script error (see the browser console)'}`));
    };
    worker.onmessageerror = () => this.fail(new Error(`The ${name} worker sent a message that could not be read`));
  }

  private fail(e: Error): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  call<K extends keyof A & string>(
    method: K,
    arg: A[K]['arg'],
    opts: { onEvent?: (e: A[K]['event']) => void; signal?: AbortSignal; transfer?: Transferable[] } = {},
  ): Promise<A[K]['result']> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const promise = new Promise<A[K]['result']>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent: opts.onEvent as (e: unknown) => void });
    });
    this.worker.postMessage({ rpc: 'call', id, method, arg } satisfies Message, opts.transfer ?? []);
    opts.signal?.addEventListener('abort', () => this.worker.postMessage({ rpc: 'cancel', id } satisfies Message), { once: true });
    return promise;
  }

  /** Stops the worker; pending and later calls are rejected. */
  terminate(reason = `The ${this.name} worker was stopped`): void {
    this.worker.terminate();
    this.fail(new Error(reason));
  }
}
