import { useEffect, useState } from 'react';
import { deleteCachedBundle, listCachedBundles, type CachedBundle } from '../../worker/cache.ts';
import { loadModelFromFiles, loadModelFromUrl, wasmNotice } from '../actions/index.ts';
import { formatBytes, fromDataTransfer, fromFileList, pickedLabel, type PickedFile } from '../files';
import { useStore } from '../store';

function useCachedBundles(): [CachedBundle[], () => void] {
  const [list, setList] = useState<CachedBundle[]>([]);
  const version = useStore((s) => s.cacheVersion);
  const refresh = () => {
    listCachedBundles().then(setList, () => setList([]));
  };
  useEffect(refresh, [version]);
  return [list, refresh];
}

export function ModelPanel() {
  const model = useStore((s) => s.model);
  const [url, setUrl] = useState('');
  const [dragging, setDragging] = useState(false);
  const [cached, refresh] = useCachedBundles();
  const loading = model.phase === 'loading';
  const info = model.info;
  const pct = model.progress && model.progress.total > 0 ? model.progress.loaded / model.progress.total : null;

  const loadPicked = (files: PickedFile[]) => {
    if (files.length > 0) void loadModelFromFiles(files, pickedLabel(files)).then(refresh);
  };

  return (
    <section className="panel model-panel" aria-labelledby="model-heading">
      <h2 id="model-heading">Model</h2>
      {info ? (
        <dl className="model-info">
          <dt>Name</dt>
          <dd title={info.sourceLabel}>{info.manifest.name}</dd>
          <dt>Backend</dt>
          <dd>
            {info.backend === 'webgpu' ? (
              <span className="badge badge-gpu">WebGPU</span>
            ) : (
              <span className="badge badge-cpu">wasm</span>
            )}{' '}
            <span className="muted">{info.adapter}</span>
            {info.wasmThreads !== undefined && (
              <span className="muted">
                {' '}· {info.wasmThreads} {info.wasmThreads === 1 ? 'thread' : 'threads'}
              </span>
            )}
          </dd>
          <dt>Weights</dt>
          <dd>
            {info.dtype}, {formatBytes(info.modelBytes)}, {info.manifest.config.nLayer} layers × {info.manifest.config.nEmbd}
          </dd>
          <dt>Storage</dt>
          <dd className="muted">
            {info.cache === 'hit'
              ? 'from the browser cache'
              : info.cache === 'stored'
                ? 'downloaded and cached'
                : info.cache === 'memory'
                  ? (info.cacheNote ?? 'in memory only')
                  : 'local files (not cached)'}
          </dd>
        </dl>
      ) : (
        <p className="muted">{model.phase === 'error' ? 'No model loaded.' : 'Loading the default model…'}</p>
      )}
      {info && info.backend === 'wasm' && (
        <p className="notice notice-warning inline">
          {wasmNotice(info)}
        </p>
      )}
      {loading && (
        <div className="load-progress">
          <span>
            Loading {model.loadingLabel}
            {model.progress?.file ? ` · ${model.progress.file}` : ''}
            {pct !== null ? ` · ${formatBytes(model.progress!.loaded)} / ${formatBytes(model.progress!.total)}` : ''}
          </span>
          <progress aria-label="Model loading progress" max={1} value={pct ?? undefined} />
        </div>
      )}
      {model.error && !loading && <p className="error-text">{model.error}</p>}

      <details className="model-load">
        <summary>Load another model</summary>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void loadModelFromUrl(url).then(refresh);
          }}
        >
          <input
            type="text"
            aria-label="Model URL"
            placeholder="https://…/my-model/ (folder with igpt.json)"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
          />
          <button type="submit" disabled={loading || !url.trim()}>
            Load URL
          </button>
        </form>
        <div
          className={`dropzone ${dragging ? 'dragging' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            e.stopPropagation();
            setDragging(false);
            void fromDataTransfer(e.dataTransfer).then(loadPicked);
          }}
        >
          <span>Drop a bundle folder here, or</span>
          <label className="button small">
            Choose folder
            <input
              className="visually-hidden"
              type="file"
              aria-label="Model folder"
              {...{ webkitdirectory: '', directory: '' }}
              onChange={(e) => {
                if (e.target.files) loadPicked(fromFileList(e.target.files));
                e.target.value = '';
              }}
            />
          </label>
          <label className="button small">
            Choose files
            <input
              className="visually-hidden"
              type="file"
              multiple
              aria-label="Model files"
              onChange={(e) => {
                if (e.target.files) loadPicked(fromFileList(e.target.files));
                e.target.value = '';
              }}
            />
          </label>
        </div>
        {cached.length > 0 && (
          <div className="cached">
            <h3>Cached in this browser</h3>
            <ul>
              {cached.map((c) => (
                <li key={c.baseUrl}>
                  <span className="cached-name" title={c.baseUrl}>
                    {c.name} <span className="muted cached-url">{c.baseUrl}</span>
                  </span>
                  <span className="muted">{formatBytes(c.bytes)}</span>
                  <button className="small" disabled={loading} onClick={() => void loadModelFromUrl(c.baseUrl).then(refresh)}>
                    Load
                  </button>
                  <button
                    className="small danger"
                    aria-label={`Delete cached model ${c.name}`}
                    onClick={() => void deleteCachedBundle(c.baseUrl).then(refresh)}
                  >
                    Delete
                  </button>
                </li>
              ))}
            </ul>
          </div>
        )}
      </details>
    </section>
  );
}
