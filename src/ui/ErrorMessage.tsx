import type { WorkerErrorInfo } from '../worker/protocol.js';

/** The one place failures show; the rest of the page keeps working. */
export function ErrorMessage({ error, onDismiss }: { error: WorkerErrorInfo | null; onDismiss: () => void }) {
  return (
    <div data-testid="error-message" role="alert" aria-live="assertive" className={error ? 'error-box' : 'error-box empty'}>
      {error && (
        <>
          <p className="error-text"><strong>{error.message}</strong></p>
          {error.hint && <p className="error-hint">{error.hint}</p>}
          <p className="error-code">Code: {error.code} <button type="button" className="link" onClick={onDismiss}>Dismiss</button></p>
        </>
      )}
    </div>
  );
}
