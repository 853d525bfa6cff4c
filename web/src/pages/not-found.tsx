// A path that is no page of the app.

import { Page } from "../components/page.tsx";
import { Link } from "../router.tsx";

export function NotFoundPage() {
  return (
    <Page title="Page not found">
      <p>
        There is no page at this address. Go to <Link to="/">My access</Link> or{" "}
        <Link to="/request">request access</Link>.
      </p>
    </Page>
  );
}
