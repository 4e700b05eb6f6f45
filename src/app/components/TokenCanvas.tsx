import { useEffect, useRef } from 'react';
import { paintTokens } from '../palette';
import { IMAGE_SIZE } from '../../bundle/index.ts';

/** A 32x32 canvas showing token colours; repainted when tokens or palette change. */
export function TokenCanvas(props: {
  label: string;
  tokens: Int32Array | null;
  rgb: Uint8Array | null;
  className?: string;
  canvasRef?: (el: HTMLCanvasElement | null) => void;
  onPointerDown?: React.PointerEventHandler<HTMLCanvasElement>;
  onPointerMove?: React.PointerEventHandler<HTMLCanvasElement>;
  onPointerUp?: React.PointerEventHandler<HTMLCanvasElement>;
  onPointerLeave?: React.PointerEventHandler<HTMLCanvasElement>;
  /** Makes the canvas focusable and keyboard-usable (drawing). */
  onKeyDown?: React.KeyboardEventHandler<HTMLCanvasElement>;
  description?: string;
}) {
  const ref = useRef<HTMLCanvasElement | null>(null);
  const { tokens, rgb } = props;
  useEffect(() => {
    const c = ref.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    if (!tokens || !rgb) {
      ctx.fillStyle = '#1c1e26';
      ctx.fillRect(0, 0, IMAGE_SIZE, IMAGE_SIZE);
      return;
    }
    const img = ctx.createImageData(IMAGE_SIZE, IMAGE_SIZE);
    paintTokens(img.data, tokens, rgb);
    ctx.putImageData(img, 0, 0);
  }, [tokens, rgb]);
  return (
    <canvas
      ref={(el) => {
        ref.current = el;
        props.canvasRef?.(el);
      }}
      role="img"
      aria-label={props.label}
      width={IMAGE_SIZE}
      height={IMAGE_SIZE}
      className={`pixels ${props.className ?? ''}`}
      onPointerDown={props.onPointerDown}
      onPointerMove={props.onPointerMove}
      onPointerUp={props.onPointerUp}
      onPointerLeave={props.onPointerLeave}
      onKeyDown={props.onKeyDown}
      tabIndex={props.onKeyDown ? 0 : undefined}
      aria-description={props.description}
    />
  );
}

/** Pixel coordinates of a pointer event on a CSS-scaled 32x32 canvas. */
export function eventPixel(e: React.PointerEvent<HTMLCanvasElement> | React.MouseEvent<HTMLCanvasElement>): [number, number] {
  const r = e.currentTarget.getBoundingClientRect();
  const x = Math.floor(((e.clientX - r.left) / r.width) * IMAGE_SIZE);
  const y = Math.floor(((e.clientY - r.top) / r.height) * IMAGE_SIZE);
  return [Math.min(IMAGE_SIZE - 1, Math.max(0, x)), Math.min(IMAGE_SIZE - 1, Math.max(0, y))];
}
