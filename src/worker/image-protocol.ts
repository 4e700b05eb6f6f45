import type { WorkerError } from './protocol';

export interface ImageWorkerRequest {
  id: number;
  file: Blob;
  name: string;
  clusters: number[][];
}

export type ImageWorkerResponse =
  | { id: number; ok: true; tokens: Int32Array; width: number; height: number }
  | { id: number; ok: false; error: WorkerError };
