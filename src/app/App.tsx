import { useEffect } from 'react';
import { handleKey, start } from './actions/index.ts';
import { InputPanel } from './components/InputPanel';
import { LikelihoodPanel } from './components/LikelihoodPanel';
import { ModelPanel } from './components/ModelPanel';
import { OutputPanel } from './components/OutputPanel';
import { Presentation } from './components/Presentation';
import { SamplingPanel } from './components/SamplingPanel';
import { Notices, StatusBar } from './components/StatusBar';
import { useStore } from './store';
import './app.css';

let started = false;

export function App() {
  const presentation = useStore((s) => s.presentation);
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
        <StatusBar />
        <button className="ghost" onClick={() => set({ presentation: !presentation })} title="Presentation mode (P)">
          {presentation ? 'Exit presentation' : 'Presentation'}
        </button>
      </header>
      <Notices />
      {presentation ? (
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
