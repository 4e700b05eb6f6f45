import { useEffect, useState } from 'react';
import type { WeightDType } from '../../bundle/index.ts';
import { estimateBundleBytes, isWeightFile, type AttentionScaleChoice } from '../../convert/web/convertToOpfs.ts';
import { opfsAvailable } from '../../convert/web/opfs.ts';
import {
  cancelConvert,
  CONVERTED_PREFIX,
  convertFiles,
  convertHub,
  deleteConvertedModel,
  detectFp16,
  openConvertedModel,
  planRepo,
  PRESETS,
  refreshConverted,
  setEndpoint,
  useConvert,
} from '../actions/convert.ts';
import { formatBytes, fromDataTransfer, fromFileList, type PickedFile } from '../files';
import { useStore } from '../store';

const REPO_RE = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

function formatEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '';
  if (s < 60) return `${Math.ceil(s)} s left`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s left`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min left`;
}

/** Convert the real iGPT (a hub repo or local Hugging Face files) into a bundle kept in this browser. */
export function ConvertPanel() {
  const c = useConvert();
  const model = useStore((s) => s.model);
  const [repo, setRepo] = useState('');
  const [revision, setRevision] = useState('main');
  const [scale, setScale] = useState<AttentionScaleChoice>('exact');
  const [dtype, setDtype] = useState<WeightDType | null>(null);
  const [dragging, setDragging] = useState(false);
  const [endpointDraft, setEndpointDraft] = useState(c.endpoint);

  useEffect(() => {
    void detectFp16();
    void refreshConverted();
  }, []);
  // The default precision: fp16 where the adapter has shader-f16, else fp32.
  const precision: WeightDType = dtype ?? (c.canFp16 ? 'fp16' : 'fp32');

  // Sizes from the hub as soon as a repo id is complete.
  useEffect(() => {
    if (!REPO_RE.test(repo.trim())) return;
    const t = setTimeout(() => void planRepo(repo.trim(), revision.trim() || 'main'), 400);
    return () => clearTimeout(t);
  }, [repo, revision, c.endpoint]);

  if (!opfsAvailable()) {
    return <p className="muted">This browser has no Origin Private File System: models cannot be converted and kept here.</p>;
  }
  const plan = c.plan && c.planFor === `${repo.trim()}@${revision.trim() || 'main'}` ? c.plan : null;
  const weightBytes = plan ? plan.files.filter((f) => isWeightFile(f.path)).reduce((n, f) => n + f.size, 0) : 0;
  const p = c.progress;
  const pct = p && p.total > 0 ? Math.min(1, p.loaded / p.total) : null;
  const loading = model.phase === 'loading';
  const openId = model.info?.sourceLabel.startsWith(CONVERTED_PREFIX) ? model.info.sourceLabel.slice(CONVERTED_PREFIX.length) : null;

  const pickFiles = (files: PickedFile[]) => void convertFiles(files, precision, scale);

  return (
    <div className="convert">
      <p className="muted">
        Download an ImageGPT checkpoint from the Hugging Face hub (or take its files from your disk), convert it here, in a worker, and keep it in this
        browser: it opens offline from then on.
      </p>
      <div className="presets" role="group" aria-label="Official checkpoints">
        {PRESETS.map((pr) => (
          <button
            key={pr.repo}
            type="button"
            className="small"
            disabled={c.running}
            aria-pressed={repo === pr.repo}
            onClick={() => setRepo(pr.repo)}
            title={pr.repo}
          >
            {pr.label}{' '}
            <span className="muted">
              {pr.params >= 1e9 ? `${(pr.params / 1e9).toFixed(2)} B` : `${(pr.params / 1e6).toFixed(0)} M`} parameters, ≈{formatBytes(pr.params * 4)} fp32
            </span>
          </button>
        ))}
      </div>
      <form
        className="convert-form"
        onSubmit={(e) => {
          e.preventDefault();
          void convertHub(repo, revision, precision, scale);
        }}
      >
        <label>
          Hugging Face repo
          <input type="text" value={repo} placeholder="owner/name, e.g. openai/imagegpt-small" onChange={(e) => setRepo(e.target.value)} spellCheck={false} />
        </label>
        <label>
          Revision
          <input type="text" value={revision} onChange={(e) => setRevision(e.target.value)} spellCheck={false} />
        </label>
        <label>
          Attention scale
          <select value={scale} onChange={(e) => setScale(e.target.value as AttentionScaleChoice)}>
            <option value="exact">exact</option>
            <option value="transformers">transformers</option>
          </select>
        </label>
        <label>
          Precision
          <select value={precision} onChange={(e) => setDtype(e.target.value as WeightDType)}>
            <option value="fp32">fp32</option>
            <option value="fp16">fp16</option>
            <option value="q4">q4</option>
          </select>
        </label>
        <p className="convert-size" aria-live="polite">
          {plan
            ? `Download ${formatBytes(plan.downloadBytes)}${plan.presentBytes > 0 ? ` (${formatBytes(plan.presentBytes)} already here)` : ''} · converted ${precision} ≈ ${formatBytes(estimateBundleBytes(weightBytes, precision))}`
            : c.planError && c.planFor === `${repo.trim()}@${revision.trim() || 'main'}`
              ? c.planError
              : REPO_RE.test(repo.trim())
                ? 'Asking the hub for the sizes…'
                : ''}
        </p>
        <button type="submit" disabled={c.running || loading || !REPO_RE.test(repo.trim())}>
          Download and convert
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
          if (!c.running) void fromDataTransfer(e.dataTransfer).then(pickFiles);
        }}
      >
        <span>Drop Hugging Face files (config.json, preprocessor_config.json, weights) or their folder here, or</span>
        <label className={`button small ${c.running ? 'disabled' : ''}`}>
          Convert files…
          <input
            className="visually-hidden"
            type="file"
            multiple
            disabled={c.running}
            aria-label="Checkpoint files to convert"
            onChange={(e) => {
              if (e.target.files) pickFiles(fromFileList(e.target.files));
              e.target.value = '';
            }}
          />
        </label>
      </div>
      {c.running && (
        <div className="load-progress convert-progress">
          <span>
            {p?.text ?? 'Starting'}
            {p?.file ? ` · ${p.file}` : ''}
            {p && p.total > 0 ? ` · ${formatBytes(p.loaded)} / ${p.stage === 'convert' ? '≈' : ''}${formatBytes(p.total)}` : ''}
            {p && p.speed > 0 ? ` · ${formatBytes(p.speed)}/s · ${formatEta(p.etaSeconds)}` : ''}
          </span>
          <progress aria-label="Conversion progress" max={1} value={pct ?? undefined} />
          <button type="button" className="small" onClick={cancelConvert}>
            Cancel
          </button>
        </div>
      )}
      {c.error && !c.running && (
        <p className="error-text" role="alert">
          {c.error}
        </p>
      )}
      <div className="cached converted">
        <h3>Converted in this browser</h3>
        {c.models.length === 0 ? (
          <p className="muted">None yet.</p>
        ) : (
          <ul aria-label="Converted models">
            {c.models.map((m) => (
              <li key={m.id}>
                <span className="cached-name" title={m.endpoint ? `${m.endpoint}/${m.source}` : m.source}>
                  {m.name} <span className="muted cached-url">{m.source}{m.revision ? `@${m.revision}` : ''}</span>
                </span>
                <span className="muted">
                  {m.dtype}, {m.attentionScale}, {formatBytes(m.bytes)}
                </span>
                <button className="small" disabled={loading || openId === m.id} aria-label={`Open ${m.name} (${m.dtype}, ${m.attentionScale})`} onClick={() => void openConvertedModel(m.id)}>
                  {openId === m.id ? 'In use' : 'Open'}
                </button>
                <button className="small danger" aria-label={`Delete converted model ${m.name} (${m.dtype}, ${m.attentionScale})`} onClick={() => void deleteConvertedModel(m.id)}>
                  Delete
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          setEndpoint(endpointDraft.trim());
        }}
      >
        <label>
          Hub endpoint
          <input type="url" value={endpointDraft} onChange={(e) => setEndpointDraft(e.target.value)} spellCheck={false} />
        </label>
        <button type="submit" className="small" disabled={endpointDraft.trim() === c.endpoint}>
          Save
        </button>
      </form>
    </div>
  );
}
