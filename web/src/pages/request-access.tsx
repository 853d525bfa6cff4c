// Request access: choose a flow, then fill in the form generated from its fields.

import { useCallback } from "react";
import { api } from "../api.ts";
import { EmptyState, ErrorNotice, Loading } from "../components/notice.tsx";
import { Page } from "../components/page.tsx";
import { RequestForm } from "../components/request-form.tsx";
import { formatDuration } from "../format.ts";
import { Link } from "../router.tsx";
import { useSignedIn } from "../session.tsx";
import type { Flow } from "../types.ts";
import { useResource } from "../use-resource.ts";

export function RequestAccessPage({ flowName }: { flowName?: string }) {
  const { me } = useSignedIn();
  const flows = useResource(useCallback((signal: AbortSignal) => api.flows(signal), []));
  const flow = flowName ? flows.data?.find((f) => f.name === flowName) : undefined;

  if (flowName && flow) {
    return (
      <Page title={`Request ${flow.label}`} intro={flow.description ?? undefined}>
        <p className="breadcrumb">
          <Link to="/request">All flows</Link>
        </p>
        <RequestForm key={flow.name} flow={flow} />
      </Page>
    );
  }

  return (
    <Page title="Request access" intro="Choose what you need access to.">
      {flows.loading ? <Loading what="flows" /> : null}
      {flows.error ? <ErrorNotice error={flows.error} action="see the flows you can request" /> : null}
      {flowName && flows.data ? (
        <ErrorNotice
          error={
            new Error(
              `There is no flow named “${flowName}” that you can request. Choose one of these instead.`,
            )
          }
        />
      ) : null}
      {flows.data && flows.data.length === 0 ? (
        <EmptyState title="There is nothing you can request here.">
          <p>
            {me.role === "guest"
              ? "Guests cannot request access. Ask an admin to add your email domain to users.memberDomains."
              : "No flow is open to requests from the web app. An admin adds flows in jitflow.config.ts."}
          </p>
        </EmptyState>
      ) : null}
      {flows.data && flows.data.length > 0 ? (
        <ul className="flow-picker">
          {flows.data.map((f) => (
            <li key={f.name}>
              <FlowChoice flow={f} />
            </li>
          ))}
        </ul>
      ) : null}
    </Page>
  );
}

function FlowChoice({ flow }: { flow: Flow }) {
  const targets = flow.targets.map((t) => t.label).join(", ");
  return (
    <Link to={`/request/${encodeURIComponent(flow.name)}`} className="flow-choice">
      <span className="flow-choice-title">{flow.label}</span>
      {flow.description ? <span className="flow-choice-text">{flow.description}</span> : null}
      <span className="flow-choice-meta">
        {targets ? `${targets} · ` : ""}
        {flow.maxDuration > 0 ? `up to ${formatDuration(flow.maxDuration)}` : "approval only"}
        {flow.approvers ? "" : " · approved by admins"}
      </span>
    </Link>
  );
}
