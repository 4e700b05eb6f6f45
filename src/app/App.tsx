import { useEffect } from 'react';
import { handleKey, start } from './actions/index.ts';
import { InputPanel } from './components/InputPanel';
import { LikelihoodPanel } from './components/LikelihoodPanel';
import { ModelPanel } from './components/ModelPanel';
import { OutputPanel } from './components/OutputPanel';
import { ProbeView } from './components/ProbeView';
import { Presentation } from './components/Presentation';
import { SamplingPanel } from './components/SamplingPanel';
import { Notices, StatusBar } from './components/StatusBar';
import { useStore } from './store';
import './app.css';

let started = false;

export function App() {
  const presentation = useStore((s) => s.presentation);
  const page = useStore((s) => s.page);
  const set = useStore((s) => s.set);
  useEffect(() => {
    if (!started) {
      started = true;
      void start();
    }
    window.addEventListener('keydown', handleKey);
    return () => window.removeEventListener('keydown', handleKey);
  }, []);
  return (
    <div className={`app ${presentation ? 'presenting' : ''}`}>
      <header className="topbar">
        <h1>
          iGPT <span className="muted">playground</span>
        </h1>
        <nav className="pages" aria-label="Views">
          <button type="button" className="ghost" aria-current={page === 'playground' ? 'page' : undefined} onClick={() => set({ page: 'playground' })}>
            Playground
          </button>
          <button type="button" className="ghost" aria-current={page === 'probe' ? 'page' : undefined} onClick={() => set({ page: 'probe' })}>
            Probe
          </button>
        </nav>
        <StatusBar />
        <button className="ghost" onClick={() => set({ presentation: !presentation })} title="Presentation mode (P)">
          {presentation ? 'Exit presentation' : 'Presentation'}
        </button>
      </header>
      <Notices />
      {page === 'probe' ? (
        <ProbeView />
      ) : presentation ? (
        <Presentation />
      ) : (
        <main className="layout">
          <div className="col-left">
            <InputPanel />
            <SamplingPanel />
            <ModelPanel />
          </div>
          <div className="col-right">
            <OutputPanel />
            <LikelihoodPanel />
          </div>
        </main>
      )}
      <footer className="muted small">
        Image GPT (Chen et al., 2020) running in your browser with onnxruntime-web. Example emoji: Twemoji, CC-BY 4.0.
      </footer>
    </div>
  );
}
