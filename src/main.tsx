import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import { crossOriginIsolate } from './app/isolation';

// First cross-origin isolation (wasm threads): on a static host this may reload the page once.
// Whatever goes wrong there, the app starts.
void crossOriginIsolate()
  .catch(() => 'unavailable' as const)
  .then((state) => {
    if (state === 'reloading') return;
    createRoot(document.getElementById('root')!).render(
      <StrictMode>
        <App />
      </StrictMode>,
    );
  });
