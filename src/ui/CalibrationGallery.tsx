import { useRef, useState } from 'react';
import { pngDataUrl, type RgbaPixels } from '../core/report/pngEncode.js';
import { downloadBlob } from './format.js';

const CELL = 68;
const COLS = 10;
const VISIBLE_ROWS = 6;

/** Every calibration image of the run, virtualized (only the rows in view are encoded and drawn). */
export function CalibrationGallery({ images, labels }: { images: RgbaPixels[]; labels?: string[] }) {
  const [top, setTop] = useState(0);
  const [zoom, setZoom] = useState<number | null>(null);
  const cache = useRef({ of: images, urls: new Map<number, string>() });
  if (cache.current.of !== images) cache.current = { of: images, urls: new Map() };
  const url = (i: number) => {
    let u = cache.current.urls.get(i);
    if (!u) cache.current.urls.set(i, (u = pngDataUrl(images[i])));
    return u;
  };
  const rows = Math.ceil(images.length / COLS);
  const first = Math.max(0, Math.floor(top / CELL) - 1);
  const last = Math.min(rows, first + VISIBLE_ROWS + 2);
  const shown: number[] = [];
  for (let r = first; r < last; r++) for (let c = 0; c < COLS; c++) if (r * COLS + c < images.length) shown.push(r * COLS + c);
  const name = (i: number) => `calibration-${String(i + 1).padStart(4, '0')}.png`;
  const save = (i: number) => fetch(url(i)).then((r) => r.blob()).then((b) => downloadBlob(name(i), b, 'image/png'));
  return (
    <div data-testid="gallery">
      <p className="muted">{images.length} images{images[0] ? `, ${images[0].width}×${images[0].height}` : ''}. Click one for full size.</p>
      <div className="gallery-scroll" style={{ height: VISIBLE_ROWS * CELL, overflowY: 'auto', position: 'relative', width: COLS * CELL + 20 }} onScroll={(e) => setTop(e.currentTarget.scrollTop)} data-testid="gallery-scroll">
        <div style={{ height: rows * CELL, position: 'relative' }}>
          {shown.map((i) => (
            <button type="button" key={i} className="thumb" style={{ position: 'absolute', top: Math.floor(i / COLS) * CELL, left: (i % COLS) * CELL }} onClick={() => setZoom(i)} aria-label={`Calibration image ${i + 1}${labels?.[i] ? `, ${labels[i]}` : ''}`} data-testid="gallery-item">
              <img src={url(i)} alt="" width={64} height={64} />
              {labels?.[i] && <span className="thumb-label" data-testid="gallery-label">{labels[i]}</span>}
            </button>
          ))}
        </div>
      </div>
      <button type="button" onClick={() => images.forEach((_, i) => save(i))}>Download all ({images.length} PNGs)</button>
      {zoom !== null && (
        <dialog open className="zoom" data-testid="gallery-zoom">
          <img src={url(zoom)} alt={`Calibration image ${zoom + 1}`} style={{ width: Math.max(images[zoom].width, Math.min(384, images[zoom].width * 8)) }} />
          <p>Image {zoom + 1} of {images.length}{labels?.[zoom] ? ` · ${labels[zoom]}` : ''}</p>
          <button type="button" onClick={() => save(zoom)}>Download</button>{' '}
          <button type="button" onClick={() => setZoom(null)}>Close</button>
        </dialog>
      )}
    </div>
  );
}
