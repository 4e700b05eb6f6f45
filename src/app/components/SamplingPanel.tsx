import { useEffect, useState } from 'react';
import { parseTemperatureList } from '../settings';
import { useStore } from '../store';

export function TemperatureControl() {
  const t = useStore((s) => s.settings.temperature);
  const setSettings = useStore((s) => s.setSettings);
  const on = (e: React.FormEvent<HTMLInputElement>) => setSettings({ temperature: Number(e.currentTarget.value) });
  return (
    <label className="field">
      <span>
        Temperature <span className="value">{t.toFixed(2)}</span>
      </span>
      <input type="range" min={0} max={2} step={0.05} value={t} onChange={on} onInput={on} />
    </label>
  );
}

/** A number input that clamps through the store but lets the user type freely. */
function NumberField(props: {
  label: string;
  value: number;
  min: number;
  max: number;
  step?: number;
  onCommit: (v: number) => void;
  hint?: string;
}) {
  const [text, setText] = useState(String(props.value));
  useEffect(() => setText(String(props.value)), [props.value]);
  const commit = (v: string) => {
    const n = Number(v);
    if (v.trim() !== '' && Number.isFinite(n)) props.onCommit(n);
  };
  return (
    <label className="field">
      <span>
        {props.label}
        {props.hint && <small className="muted"> {props.hint}</small>}
      </span>
      <input
        type="number"
        min={props.min}
        max={props.max}
        step={props.step ?? 1}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          commit(e.target.value);
        }}
        onBlur={() => setText(String(props.value))}
      />
    </label>
  );
}

export function SamplingPanel() {
  const s = useStore((st) => st.settings);
  const setSettings = useStore((st) => st.setSettings);
  const newSeed = useStore((st) => st.newSeed);
  const speed = useStore((st) => st.speed);
  const set = useStore((st) => st.set);
  const [tempsText, setTempsText] = useState(s.compareTemps.join(', '));
  useEffect(() => setTempsText(s.compareTemps.join(', ')), [s.compareTemps]);

  return (
    <section className="panel sampling-panel" aria-labelledby="sampling-heading">
      <h2 id="sampling-heading">Sampling</h2>
      <TemperatureControl />
      <div className="field-row">
        <NumberField label="Top-k" hint="0 = off" value={s.topK} min={0} max={512} onCommit={(v) => setSettings({ topK: v })} />
        <NumberField
          label="Top-p"
          hint="1 = off"
          value={s.topP}
          min={0.01}
          max={1}
          step={0.01}
          onCommit={(v) => setSettings({ topP: v })}
        />
      </div>
      <div className="field-row">
        <NumberField label="Samples" value={s.samples} min={1} max={16} onCommit={(v) => setSettings({ samples: v })} />
        <div className="seed-field">
          <NumberField label="Seed" value={s.seed} min={0} max={4294967295} onCommit={(v) => setSettings({ seed: v })} />
          <button type="button" onClick={newSeed} title="New seed (R)">
            New seed
          </button>
        </div>
      </div>
      <fieldset className="compare">
        <legend>
          <label>
            <input type="checkbox" checked={s.compare} onChange={(e) => setSettings({ compare: e.target.checked })} /> Compare
            mode
          </label>
        </legend>
        <label className="field">
          <span className="muted small">One row per value, same seeds in every row</span>
          <input
            type="text"
            aria-label="Compare at"
            disabled={!s.compare}
            value={tempsText}
            onChange={(e) => {
              setTempsText(e.target.value);
              const list = parseTemperatureList(e.target.value);
              if (list.length > 0) setSettings({ compareTemps: list });
            }}
            onBlur={() => setTempsText(s.compareTemps.join(', '))}
          />
        </label>
      </fieldset>
      <label className="field">
        <span>Display speed</span>
        <select value={speed} onChange={(e) => set({ speed: e.target.value as typeof speed })}>
          <option value="max">As fast as it generates</option>
          <option value="slow">Slow motion (4 px per frame)</option>
          <option value="slower">Slower (1 px per frame)</option>
        </select>
      </label>
    </section>
  );
}
