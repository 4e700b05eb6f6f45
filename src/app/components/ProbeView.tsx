/**
 * The Probe view: linear probes of every layer of the loaded model on a labelled image set, with
 * a chart of held-out accuracy by layer (chance level, best layer marked), a table, and CSV / PNG
 * export. The work runs in the probe worker (actions/probe.ts).
 */
import { useEffect, useRef, useState } from 'react';
import {
  canRunProbe,
  chooseProbeData,
  exportProbeCsv,
  exportProbePng,
  inspectProbeData,
  runProbe,
  setProbeFolder,
  stopProbe,
} from '../actions/index.ts';
import { fromDataTransfer, fromFileList, pickedLabel } from '../files';
import { chartGeometry, DEFAULT_CHART_SIZE, percent } from '../probeChart';
import { useStore } from '../store';

const COLOURS = { bg: '#171a21', grid: '#2a2f3a', axis: '#8d94a5', text: '#e4e7ee', line: '#69b4ff', chance: '#f0b44c', best: '#5ad19a' };

function ProbeChart({ svgRef }: { svgRef: React.RefObject<SVGSVGElement | null> }) {
  const probe = useStore((s) => s.probe);
  const nLayer = useStore((s) => s.model.info?.manifest.config.nLayer ?? 0);
  const layers = probe.result ? probe.result.layers.length : Math.max(probe.fitted.total, nLayer + 1);
  const chance = probe.result?.chance ?? null;
  const size = DEFAULT_CHART_SIZE;
  const g = chartGeometry(
    probe.layers.map((l) => ({ layer: l.layer, accuracy: l.accuracy })),
    layers,
    chance ?? 0,
    size,
  );
  const done = probe.result !== null;
  const best = done ? g.points.find((p) => p.layer === probe.result!.best_layer) ?? null : null;
  return (
    <svg
      ref={svgRef}
      className="probe-chart"
      viewBox={`0 0 ${size.width} ${size.height}`}
      role="img"
      aria-label={
        done
          ? `Test accuracy by layer: best layer ${probe.result!.best_layer} at ${percent(probe.result!.layers[probe.result!.best_layer]?.accuracy ?? 0)}, chance ${percent(chance!)}`
          : 'Test accuracy by layer (filling in as layers are fitted)'
      }
      fontFamily="system-ui, sans-serif"
    >
      <rect x={0} y={0} width={size.width} height={size.height} fill={COLOURS.bg} />
      {g.yTicks.map((t) => (
        <g key={t.value}>
          <line x1={g.plot.left} x2={g.plot.right} y1={t.y} y2={t.y} stroke={COLOURS.grid} strokeWidth={1} />
          <text x={g.plot.left - 8} y={t.y + 4} textAnchor="end" fontSize={12} fill={COLOURS.axis}>
            {Math.round(t.value * 100)}%
          </text>
        </g>
      ))}
      {g.xTicks.map((t) => (
        <text key={t.layer} x={t.x} y={g.plot.bottom + 18} textAnchor="middle" fontSize={12} fill={COLOURS.axis}>
          {t.layer}
        </text>
      ))}
      <text x={(g.plot.left + g.plot.right) / 2} y={size.height - 6} textAnchor="middle" fontSize={12} fill={COLOURS.axis}>
        layer (0 = embeddings)
      </text>
      {chance !== null && (
        <g className="chance">
          <line x1={g.plot.left} x2={g.plot.right} y1={g.chanceY} y2={g.chanceY} stroke={COLOURS.chance} strokeWidth={2} strokeDasharray="6 4" />
          <text x={g.plot.right - 4} y={g.chanceY - 6} textAnchor="end" fontSize={12} fill={COLOURS.chance}>
            chance {percent(chance)}
          </text>
        </g>
      )}
      {g.path && <path d={g.path} fill="none" stroke={COLOURS.line} strokeWidth={3} />}
      {g.points.map((p) => (
        <circle key={p.layer} className="point" cx={p.x} cy={p.y} r={5} fill={COLOURS.line} />
      ))}
      {best && (
        <g className="best">
          <circle cx={best.x} cy={best.y} r={10} fill="none" stroke={COLOURS.best} strokeWidth={3} />
          <text x={best.x} y={best.y - 16} textAnchor="middle" fontSize={13} fontWeight="bold" fill={COLOURS.best}>
            best: {percent(best.accuracy)}
          </text>
        </g>
      )}
    </svg>
  );
}

function ProbeTable() {
  const probe = useStore((s) => s.probe);
  if (probe.layers.length === 0) return null;
  const best = probe.result?.best_layer;
  return (
    <table className="probe-table" aria-label="Accuracy by layer">
      <thead>
        <tr>
          <th scope="col">Layer</th>
          <th scope="col">Train accuracy</th>
          <th scope="col">Test accuracy</th>
        </tr>
      </thead>
      <tbody>
        {probe.layers.map((l) => (
          <tr key={l.layer} className={l.layer === best ? 'best' : undefined}>
            <th scope="row">
              {l.layer} <span className="muted">({l.name})</span>
              {l.layer === best && <strong> best</strong>}
            </th>
            <td>{percent(l.train_accuracy)}</td>
            <td>{percent(l.accuracy)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DataInfo() {
  const p = useStore((s) => s.probe);
  if (p.inspecting) return <p className="muted small">Reading the images…</p>;
  if (p.dataError) return <p className="error-text" role="alert">{p.dataError}</p>;
  const info = p.dataInfo;
  if (!info) return null;
  return (
    <div className="probe-data-info">
      <p className="small">
        {info.images} images in {info.classes.length} classes
      </p>
      <ul className="probe-counts small">
        {info.classes.map((c, i) => (
          <li key={c}>
            {c}: {info.counts[i]}
          </li>
        ))}
      </ul>
      {info.bad.length > 0 && (
        <details className="small" open>
          <summary className="warn-text">
            {info.bad.length} file{info.bad.length > 1 ? 's' : ''} could not be read (left out)
          </summary>
          <ul>
            {info.bad.map((b) => (
              <li key={b.path}>
                {b.path}: {b.problem}
              </li>
            ))}
          </ul>
        </details>
      )}
      {info.skipped.length > 0 && (
        <p className="muted small">
          {info.skipped.length} other file{info.skipped.length > 1 ? 's' : ''} skipped (not a PNG/JPEG inside a class folder)
        </p>
      )}
    </div>
  );
}

function Progress() {
  const p = useStore((s) => s.probe);
  if (p.phase === 'idle') return null;
  const text =
    p.phase === 'running'
      ? p.stage === 'model'
        ? 'Loading the model into the probe worker…'
        : p.stage === 'data'
          ? 'Reading the images…'
          : p.stage === 'features'
            ? `Features: ${p.images.done} / ${p.images.total} images`
            : `Probes: ${p.fitted.done} / ${p.fitted.total} layers fitted`
      : p.phase === 'done'
        ? `Done: ${p.result?.counts.images} images (${p.result?.counts.train} train, ${p.result?.counts.test} test), ${p.fitted.total} layers, ${p.seconds?.toFixed(0)} s on ${p.result?.backend}`
        : p.phase === 'stopped'
          ? `Stopped (${p.images.done} images featurised, ${p.layers.length} layers fitted)`
          : (p.error ?? 'The probe failed');
  const value = p.stage === 'features' ? p.images.done : p.stage === 'layers' ? p.images.total + p.fitted.done : 0;
  const max = p.images.total + p.fitted.total;
  return (
    <div className="probe-progress">
      <p role="status" aria-label="Probe progress" className={p.phase === 'error' ? 'error-text' : undefined}>
        {text}
      </p>
      {p.phase === 'running' && max > 0 && <progress aria-label="Probe run progress" value={value} max={max} />}
    </div>
  );
}

export function ProbeView() {
  const p = useStore((s) => s.probe);
  const model = useStore((s) => s.model);
  const setProbe = useStore((s) => s.setProbe);
  const svgRef = useRef<SVGSVGElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const clustersKey = model.info?.manifest.name;
  useEffect(() => {
    if (model.phase === 'ready') void inspectProbeData();
  }, [clustersKey, model.phase]);
  const running = p.phase === 'running';
  const canRun = useStore((s) => canRunProbe(s));
  const chance = p.result?.chance;

  return (
    <main className="probe-view" aria-labelledby="probe-heading">
      <section className="panel probe-controls">
        <h2 id="probe-heading">Linear probe</h2>
        <p className="muted small">
          Which layer knows what the picture is? Each layer's features, averaged over the image, train a linear classifier; its
          accuracy on held-out images is plotted by layer.
        </p>
        <p className="small">
          Model: <strong>{model.info ? model.info.manifest.name : model.phase === 'loading' ? 'loading…' : 'none loaded'}</strong>
          {model.info && (
            <span className="muted">
              {' '}
              ({model.info.manifest.config.nLayer} layers × {model.info.manifest.config.nEmbd})
            </span>
          )}
        </p>
        <label className="field">
          <span>Data set</span>
          <select aria-label="Data set" value={p.data} disabled={running} onChange={(e) => chooseProbeData(e.target.value as typeof p.data)}>
            <option value="emoji">Emoji categories (bundled, 9 classes)</option>
            <option value="folder">{p.folder ? `Folder: ${p.folder.label}` : 'A folder of my own…'}</option>
          </select>
        </label>
        {p.data === 'folder' && (
          <div
            className={`probe-drop ${dragging ? 'dragging' : ''}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={async (e) => {
              e.preventDefault();
              setDragging(false);
              const files = await fromDataTransfer(e.dataTransfer);
              setProbeFolder(files, pickedLabel(files));
            }}
          >
            <p className="small">Drop a folder here with one sub-folder per class (PNG or JPEG), or</p>
            <button type="button" disabled={running} onClick={() => folderInput.current?.click()}>
              Choose folder…
            </button>
            <input
              ref={folderInput}
              type="file"
              hidden
              multiple
              aria-label="Choose a data folder"
              {...{ webkitdirectory: '', directory: '' }}
              onChange={(e) => {
                const files = fromFileList(e.target.files ?? []);
                if (files.length) setProbeFolder(files, pickedLabel(files));
                e.target.value = '';
              }}
            />
          </div>
        )}
        <DataInfo />
        <div className="field-row">
          <label className="field">
            <span>Images per class</span>
            <input
              type="number"
              aria-label="Images per class"
              min={1}
              max={100000}
              disabled={running}
              value={p.perClass ?? ''}
              placeholder="all"
              onChange={(e) => {
                const v = e.target.value.trim();
                const n = Number(v);
                setProbe({ perClass: v === '' ? null : Number.isInteger(n) && n >= 1 ? n : p.perClass });
              }}
            />
          </label>
          <label className="field">
            <span>Test split</span>
            <select aria-label="Test split" value={p.split} disabled={running} onChange={(e) => setProbe({ split: Number(e.target.value) })}>
              {[0.1, 0.2, 0.25, 0.3, 0.5].map((v) => (
                <option key={v} value={v}>
                  {Math.round(v * 100)}% held out
                </option>
              ))}
            </select>
          </label>
        </div>
        <p className="muted small probe-hint">
          Features take about 1.5 s per image for the bundled model on an idle 2-core CPU (wasm), more when it is busy. 4 per
          class (about 50 emoji: one emoji's icon-set versions are kept together) takes about a minute; empty = every image
          (1807 emoji, about 45 minutes).
        </p>
        <label className="field">
          <span>Seed</span>
          <input
            type="number"
            aria-label="Probe seed"
            min={0}
            max={2147483647}
            disabled={running}
            value={p.seed}
            onChange={(e) => {
              const n = Number(e.target.value);
              if (Number.isInteger(n) && n >= 0 && n <= 2147483647) setProbe({ seed: n });
            }}
          />
        </label>
        <div className="probe-actions">
          {running ? (
            <button type="button" className="primary" onClick={stopProbe}>
              Stop
            </button>
          ) : (
            <button type="button" className="primary" disabled={!canRun} onClick={() => void runProbe()}>
              Run probe
            </button>
          )}
        </div>
        <Progress />
      </section>
      <section className="panel probe-results" aria-label="Probe results">
        <h2>Accuracy by layer</h2>
        <ProbeChart svgRef={svgRef} />
        {chance !== undefined && (
          <p className="small muted">
            Chance (the largest class of the test split): {percent(chance)}. Held-out accuracy; the best layer is picked on the same
            held-out images.
          </p>
        )}
        <ProbeTable />
        <div className="probe-actions">
          <button type="button" disabled={!p.result} onClick={exportProbeCsv}>
            Export CSV
          </button>
          <button type="button" disabled={!p.result} onClick={() => void exportProbePng(svgRef.current)}>
            Export PNG
          </button>
        </div>
      </section>
    </main>
  );
}
