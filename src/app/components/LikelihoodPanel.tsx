import { useEffect, useRef } from 'react';
import { scorePrompt } from '../actions/index.ts';
import { heatColor } from '../palette';
import { IMAGE_SIZE } from '../../bundle/index.ts';
import { useStore } from '../store';

/** Bits shown at full heat in the surprise map. */
const SURPRISE_SCALE_BITS = 12;

export function LikelihoodPanel() {
  const likelihood = useStore((s) => s.likelihood);
  const version = useStore((s) => s.prompt.version);
  const scoring = useStore((s) => s.scoring);
  const ready = useStore((s) => s.model.phase === 'ready' && s.prompt.tokens !== null);
  const running = useStore((s) => s.run.phase === 'running');
  const ref = useRef<HTMLCanvasElement | null>(null);
  const fresh = likelihood && likelihood.promptVersion === version;

  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(IMAGE_SIZE, IMAGE_SIZE);
    for (let i = 0; i < IMAGE_SIZE * IMAGE_SIZE; i++) {
      const b = likelihood ? likelihood.bits[i] : 0;
      const [r, g, bl] = likelihood ? heatColor(b / SURPRISE_SCALE_BITS) : [28, 30, 38];
      img.data.set([r, g, bl, 255], 4 * i);
    }
    ctx.putImageData(img, 0, 0);
  }, [likelihood]);

  return (
    <section className="panel likelihood-panel" aria-labelledby="likelihood-heading">
      <h2 id="likelihood-heading">Likelihood of the image</h2>
      <div className="likelihood">
        <canvas ref={ref} className={`pixels ${fresh ? '' : 'stale'}`} role="img" aria-label="Surprise" width={32} height={32} />
        <div>
          <button onClick={() => void scorePrompt()} disabled={!ready || scoring || running}>
            {scoring ? 'Scoring…' : 'Score image'}
          </button>
          {likelihood ? (
            <dl className="scores">
              <dt>bits per token</dt>
              <dd>{likelihood.bitsPerToken.toFixed(3)}</dd>
              <dt title="bits per token divided by 3 colour channels">bits per dimension</dt>
              <dd>{(likelihood.bitsPerToken / 3).toFixed(3)}</dd>
            </dl>
          ) : (
            <p className="muted small">How surprised the model is by the whole 32×32 image, pixel by pixel.</p>
          )}
          <p className="muted small">
            Bits per dimension = mean −log₂ p(token) over the 1024 tokens, ÷ 3 channels (each token is one RGB pixel).
            Brighter = more surprising (scale 0–{SURPRISE_SCALE_BITS} bits).
            {likelihood && !fresh ? ' The image changed since it was scored.' : ''}
          </p>
        </div>
      </div>
    </section>
  );
}
