import { useEffect, useRef, useState } from 'react';
import { downloadBlob } from './format.js';

export interface Preview { width: number; height: number; rgba: Uint8ClampedArray }

/** RGBA pixels -> PNG blob URL (canvas); revoked when replaced. */
function useImageUrls(images: Preview[]): string[] {
  const [urls, setUrls] = useState<string[]>([]);
  const live = useRef<string[]>([]);
  useEffect(() => {
    let cancelled = false;
    Promise.all(images.map(async (im) => {
      const canvas = new OffscreenCanvas(im.width, im.height);
      canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(im.rgba), im.width, im.height), 0, 0);
      return URL.createObjectURL(await canvas.convertToBlob({ type: 'image/png' }));
    })).then((next) => {
      if (cancelled) { next.forEach(URL.revokeObjectURL); return; }
      live.current.forEach(URL.revokeObjectURL);
      live.current = next;
      setUrls(next);
    });
    return () => { cancelled = true; };
  }, [images]);
  useEffect(() => () => live.current.forEach(URL.revokeObjectURL), []);
  return urls;
}

function LossCurve({ losses }: { losses: number[] }) {
  if (losses.length < 2) return <svg className="loss" viewBox="0 0 300 80" role="img" aria-label="Loss curve (no data yet)" />;
  const logs = losses.map((l) => Math.log10(Math.max(l, 1e-12)));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const pts = logs.map((v, i) => `${(i / (logs.length - 1)) * 300},${75 - ((v - lo) / (hi - lo || 1)) * 70}`).join(' ');
  return (
    <svg className="loss" viewBox="0 0 300 80" role="img" aria-label={`Synthesis loss, last ${losses[losses.length - 1].toPrecision(3)}`} data-testid="loss-curve">
      <polyline points={pts} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}

/** `labels`: class-conditional synthesis names each image's target class (shown under it). */
export function PreviewPanel({ images, labels, losses, step }: { images: Preview[]; labels?: string[]; losses: number[]; step: string }) {
  const urls = useImageUrls(images);
  const [zoom, setZoom] = useState<number | null>(null);
  return (
    <section className="panel" aria-labelledby="preview-h">
      <h2 id="preview-h">3. Calibration images</h2>
      <div data-testid="synthetic-preview" className="preview-grid">
        {urls.length === 0 && <p className="empty-state">Images appear here while they are synthesized from the model's BatchNorm statistics (or, for noise and your own images, as the model will see them).</p>}
        {urls.map((u, i) => (
          <button type="button" key={i} className="thumb" onClick={() => setZoom(i)} aria-label={`Zoom synthetic image ${i + 1}${labels?.[i] ? `, target ${labels[i]}` : ''}`}>
            <img src={u} alt={`Synthetic image ${i + 1}`} width={64} height={64} />
            {labels?.[i] && <span className="thumb-label" data-testid="preview-label">{labels[i]}</span>}
          </button>
        ))}
      </div>
      <p className="muted" aria-live="polite">{step}</p>
      <LossCurve losses={losses} />
      {urls.length > 0 && (
        <button type="button" onClick={() => urls.forEach((u, i) => fetch(u).then((r) => r.blob()).then((b) => downloadBlob(`synthetic-${i + 1}.png`, b, 'image/png')))}>
          Download PNGs
        </button>
      )}
      {zoom !== null && urls[zoom] && (
        <dialog open className="zoom" onClick={() => setZoom(null)} onKeyDown={(e) => e.key === 'Escape' && setZoom(null)}>
          <img src={urls[zoom]} alt={`Synthetic image ${zoom + 1}, enlarged`} />
          {labels?.[zoom] && <p>Target class: {labels[zoom]}</p>}
          <button type="button" autoFocus onClick={() => setZoom(null)}>Close</button>
        </dialog>
      )}
    </section>
  );
}
