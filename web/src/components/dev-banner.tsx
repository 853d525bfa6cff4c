// The warning shown on every page while the dev sign-in is on.

export function DevBanner() {
  return (
    <div className="dev-banner" role="note">
      <strong>Development sign-in:</strong> anyone can sign in as anyone. Never use this in production.
    </div>
  );
}
