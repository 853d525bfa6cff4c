// The top navigation: the pages this person's role can use, who is signed in, and Sign out; a Menu button
// folds it away on narrow screens.

import { useEffect, useState } from "react";
import { describeError } from "../api.ts";
import { useLiveStatus } from "../live.tsx";
import { Link, useLocation } from "../router.tsx";
import { useSignedIn } from "../session.tsx";
import type { Role } from "../types.ts";

interface Item {
  to: string;
  label: string;
  roles: Role[];
}

const items: Item[] = [
  { to: "/", label: "My access", roles: ["admin", "member", "guest", "bot"] },
  { to: "/request", label: "Request access", roles: ["admin", "member", "bot"] },
  { to: "/approvals", label: "Approvals", roles: ["admin", "member", "guest"] },
  { to: "/audit", label: "Audit", roles: ["admin", "bot"] },
  { to: "/flows", label: "Flows", roles: ["admin"] },
  { to: "/settings", label: "Notifications", roles: ["admin", "member", "guest", "bot"] },
];

const isCurrent = (to: string, pathname: string): boolean =>
  to === "/" ? pathname === "/" : pathname === to || pathname.startsWith(`${to}/`);

export function TopNav() {
  const { me, signOut } = useSignedIn();
  const { pathname } = useLocation();
  const live = useLiveStatus();
  const [open, setOpen] = useState(false);
  const [problem, setProblem] = useState("");

  // biome-ignore lint/correctness/useExhaustiveDependencies: the menu folds away whenever the page changes.
  useEffect(() => setOpen(false), [pathname]);

  const leave = async () => {
    try {
      await signOut();
    } catch (error) {
      setProblem(describeError(error, "sign out"));
    }
  };

  return (
    <div className="topbar-inner">
      <Link to="/" className="brand">
        <span className="brand-mark" aria-hidden="true" />
        jitflow
      </Link>
      <button
        type="button"
        className="menu-toggle"
        aria-expanded={open}
        aria-controls="site-menu"
        onClick={() => setOpen((o) => !o)}
      >
        Menu
      </button>
      <div id="site-menu" className={open ? "menu open" : "menu"}>
        <nav aria-label="Main">
          <ul>
            {items
              .filter((item) => item.roles.includes(me.role))
              .map((item) => (
                <li key={item.to}>
                  <Link to={item.to} aria-current={isCurrent(item.to, pathname) ? "page" : undefined}>
                    {item.label}
                  </Link>
                </li>
              ))}
          </ul>
        </nav>
        <div className="account">
          {live === "offline" ? (
            <span className="live-status" role="status">
              Live updates paused; reconnecting…
            </span>
          ) : null}
          <span className="who" title={me.name}>
            {me.email}
          </span>
          <span className="role">{me.role}</span>
          <button type="button" className="button small" onClick={leave}>
            Sign out
          </button>
          {problem ? (
            <span className="nav-error" role="alert">
              {problem}
            </span>
          ) : null}
        </div>
      </div>
    </div>
  );
}
