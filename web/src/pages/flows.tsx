// Flows (admins): every flow's fields, targets, durations and approvers, how many requests are in each
// state, and what is wrong with the configuration file.

import { useCallback } from "react";
import { api, isApiError } from "../api.ts";
import { EmptyState, ErrorNotice, Loading, Notice } from "../components/notice.tsx";
import { Page } from "../components/page.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { StateBadge } from "../components/state-badge.tsx";
import { controlOf } from "../field-kind.ts";
import { formatDuration, formatValue } from "../format.ts";
import { useLiveUpdates } from "../live.tsx";
import { type AdminFlow, type ConfigProblem, requestStates } from "../types.ts";
import { useResource } from "../use-resource.ts";

export function FlowsPage() {
  const flows = useResource(useCallback((signal: AbortSignal) => api.adminFlows(signal), []));
  useLiveUpdates(flows.reload);

  if (isApiError(flows.error) && flows.error.status === 403) {
    return (
      <Page title="Flows">
        <div className="notice notice-error" role="alert">
          Only admins can see how flows are set up. {flows.error.message}
        </div>
      </Page>
    );
  }

  return (
    <Page title="Flows" intro="What can be requested, from where, for how long, and who decides.">
      {flows.loading ? <Loading what="flows" /> : null}
      {flows.error ? <ErrorNotice error={flows.error} action="see the flows" /> : null}
      {flows.data ? <ConfigProblems problems={flows.data.configProblems} /> : null}
      {flows.data && flows.data.items.length === 0 ? (
        <EmptyState title="No flows are configured.">
          <p>
            Add one to <code>flows</code> in <code>jitflow.config.ts</code> and restart jitflow; see
            docs/configuration.md.
          </p>
        </EmptyState>
      ) : null}
      {flows.data?.items.map((flow) => (
        <FlowCard key={flow.name} flow={flow} />
      ))}
    </Page>
  );
}

function ConfigProblems({ problems }: { problems: ConfigProblem[] }) {
  if (problems.length === 0) return <Notice tone="success">The configuration has no problems.</Notice>;
  return (
    <section className="notice notice-warning" aria-labelledby="config-problems">
      <h2 id="config-problems">Configuration problems</h2>
      <p>
        {problems.length === 1 ? "One thing" : `${problems.length} things`} in the configuration{" "}
        {problems.length === 1 ? "needs" : "need"} fixing (<code>jitflow check</code> shows the same):
      </p>
      <ul>
        {problems.map((p) => (
          <li key={`${p.path}:${p.message}`}>
            <code>{p.path}</code>: {p.message}
          </li>
        ))}
      </ul>
    </section>
  );
}

function FlowCard({ flow }: { flow: AdminFlow }) {
  const headingId = `flow-${flow.name}`;
  const counted = requestStates.filter((s) => (flow.counts[s] ?? 0) > 0);
  return (
    <section className="card flow" aria-labelledby={headingId}>
      <header className="card-head">
        <h2 id={headingId} className="card-title">
          {flow.label} <code className="muted">{flow.name}</code>
        </h2>
      </header>
      {flow.description ? <p>{flow.description}</p> : null}
      <dl className="facts">
        <div>
          <dt>Targets</dt>
          <dd>
            {flow.targets.length > 0
              ? flow.targets.map((t) => `${t.label} (${t.type})`).join(", ")
              : "None: approval only"}
          </dd>
        </div>
        <div>
          <dt>Durations</dt>
          <dd>{flow.durations.length > 0 ? flow.durations.map(formatDuration).join(", ") : "—"}</dd>
        </div>
        <div>
          <dt>Approvers</dt>
          <dd>
            {flow.approvers ? (
              <>
                {flow.approvers.users.length > 0 ? flow.approvers.users.join(", ") : "named by getApprovers"}
                {flow.approvers.channel ? ` · posted in ${flow.approvers.channel}` : ""} · at least{" "}
                {flow.approvers.minApprovals} approval{flow.approvers.minApprovals === 1 ? "" : "s"} ·{" "}
                {flow.approvers.allowSelfApproval ? "requesters may approve their own" : "never their own"}
              </>
            ) : (
              "Admins only"
            )}
          </dd>
        </div>
        <div>
          <dt>Ending access early</dt>
          <dd>{flow.allowRevoke ? "Requester, approvers and admins" : "Admins only"}</dd>
        </div>
        <div>
          <dt>Requested from</dt>
          <dd>{flow.allowedSources.join(", ")}</dd>
        </div>
        <div>
          <dt>Requests</dt>
          <dd>
            {counted.length === 0 ? (
              "None yet"
            ) : (
              <ul className="counts" aria-label={`Requests of ${flow.label} by state`}>
                {counted.map((s) => (
                  <li key={s}>
                    <StateBadge state={s} /> <span className="count">{flow.counts[s]}</span>
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </div>
      </dl>
      {flow.fields.length > 0 ? (
        <ScrollRegion label={`Fields of ${flow.label}`}>
          <table className="table">
            <caption>Fields</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Label</th>
                <th scope="col">Type</th>
                <th scope="col">Required</th>
                <th scope="col">Asked with</th>
                <th scope="col">Default</th>
              </tr>
            </thead>
            <tbody>
              {flow.fields.map((f) => (
                <tr key={f.name}>
                  <td>
                    <code>{f.name}</code>
                  </td>
                  <td>
                    {f.label}
                    {f.description ? <div className="muted">{f.description}</div> : null}
                  </td>
                  <td>{f.type}</td>
                  <td>{f.required ? "Yes" : "No"}</td>
                  <td>
                    {f.visible ? controlText[controlOf(f)] : "hidden"}
                    {f.allowedValues ? `: ${f.allowedValues.join(", ")}` : ""}
                  </td>
                  <td>{formatValue(f.default)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollRegion>
      ) : null}
    </section>
  );
}

const controlText: Record<ReturnType<typeof controlOf>, string> = {
  select: "a list",
  multiselect: "a list, several allowed",
  typeahead: "suggestions (prefetch)",
  "multi-typeahead": "suggestions (prefetch), several allowed",
  email: "an email address",
  lines: "one per line",
  checkbox: "a checkbox",
  number: "a number",
  textarea: "a text box",
  duration: "a duration",
  text: "a text line",
};
