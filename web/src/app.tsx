// The app: who is signed in decides between the sign-in page and the pages, which the path picks.

import type { ReactNode } from "react";
import { DevBanner } from "./components/dev-banner.tsx";
import { ErrorNotice, Loading } from "./components/notice.tsx";
import { TopNav } from "./components/top-nav.tsx";
import { LiveProvider } from "./live.tsx";
import { ApprovalsPage } from "./pages/approvals.tsx";
import { AuditPage } from "./pages/audit.tsx";
import { FlowsPage } from "./pages/flows.tsx";
import { MyAccessPage } from "./pages/my-access.tsx";
import { NotFoundPage } from "./pages/not-found.tsx";
import { RequestAccessPage } from "./pages/request-access.tsx";
import { SettingsPage } from "./pages/settings.tsx";
import { SignInPage } from "./pages/sign-in.tsx";
import { matchPath, Redirect, safeNext, useLocation } from "./router.tsx";
import { SessionProvider, useSession } from "./session.tsx";

export function App() {
  return (
    <SessionProvider>
      <Screen />
    </SessionProvider>
  );
}

function Screen() {
  const { state, retry } = useSession();
  const { pathname, search, href } = useLocation();

  if (state.status === "loading") {
    return (
      <Layout>
        <Loading what="jitflow" />
      </Layout>
    );
  }
  if (state.status === "unavailable") {
    return (
      <Layout>
        <h1>jitflow is not answering</h1>
        <ErrorNotice error={state.error} action="reach jitflow" />
        <button type="button" className="button primary" onClick={retry}>
          Try again
        </button>
      </Layout>
    );
  }
  if (state.status === "signed-out") {
    if (pathname !== "/signin") return <Redirect to={`/signin?next=${encodeURIComponent(href)}`} />;
    return (
      <Layout insecure={state.config.insecure}>
        <SignInPage config={state.config} expired={state.expired} />
      </Layout>
    );
  }
  if (pathname === "/signin") return <Redirect to={safeNext(search.get("next"))} />;
  return (
    <LiveProvider>
      <Layout insecure={state.config.insecure} nav={<TopNav />}>
        <Route pathname={pathname} />
      </Layout>
    </LiveProvider>
  );
}

function Route({ pathname }: { pathname: string }) {
  if (pathname === "/") return <MyAccessPage />;
  if (pathname === "/request") return <RequestAccessPage />;
  const request = matchPath("/request/:flow", pathname);
  if (request) return <RequestAccessPage key={request.flow} flowName={request.flow} />;
  if (pathname === "/approvals") return <ApprovalsPage />;
  if (pathname === "/audit") return <AuditPage />;
  if (pathname === "/flows") return <FlowsPage />;
  if (pathname === "/settings") return <SettingsPage />;
  return <NotFoundPage />;
}

function Layout({
  insecure = false,
  nav,
  children,
}: {
  insecure?: boolean;
  nav?: ReactNode;
  children: ReactNode;
}) {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to main content
      </a>
      <header className="topbar">
        {insecure ? <DevBanner /> : null}
        {nav ?? (
          <div className="topbar-inner">
            <span className="brand">
              <span className="brand-mark" aria-hidden="true" />
              jitflow
            </span>
          </div>
        )}
      </header>
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
