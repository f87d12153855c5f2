/** Stated plainly, and enforced by the page's Content-Security-Policy (no outside hosts). */
export function PrivacyNote() {
  return (
    <p className="privacy" data-testid="privacy-note">
      <span aria-hidden="true">🔒</span> Runs entirely on this device: your model never leaves it. No network requests beyond this page.
    </p>
  );
}
