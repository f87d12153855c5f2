/** Stated plainly, and enforced by the page's Content-Security-Policy (no outside hosts). */
export function PrivacyNote() {
  return (
    <p className="privacy" data-testid="privacy-note">
      <svg aria-hidden="true" width="14" height="14" viewBox="0 0 16 16" className="lock">
        <rect x="2.5" y="7" width="11" height="8" rx="1.5" fill="currentColor" />
        <path d="M5 7V5a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" strokeWidth="1.8" />
      </svg>{' '}
      Runs entirely on this device: your model never leaves it. No network requests beyond this page.
    </p>
  );
}
