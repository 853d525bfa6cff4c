// The form for one flow: target, duration and the flow's fields; the server's verdict on each field is
// shown next to it, anything else above the form.

import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { api, isApiError } from "../api.ts";
import { type Draft, fieldValue, initialDraft } from "../field-kind.ts";
import { formatDuration } from "../format.ts";
import { Link, navigate } from "../router.tsx";
import type { Flow } from "../types.ts";
import { FieldInput, mustAnswer } from "./field-input.tsx";
import { ErrorNotice } from "./notice.tsx";

interface Problems {
  fields: Record<string, string>;
  target?: string;
  duration?: string;
  /** What cannot be pinned on one input. */
  form?: unknown;
}

const targetCodes = new Set(["TARGET_REQUIRED", "TARGET_NOT_FOUND"]);
const durationCodes = new Set(["DURATION_INVALID", "DURATION_NOT_ALLOWED"]);

function problemsOf(error: unknown, flow: Flow): Problems {
  if (!isApiError(error)) return { fields: {}, form: error };
  if (targetCodes.has(error.code) && flow.targets.length > 1) return { fields: {}, target: error.message };
  if (durationCodes.has(error.code) && flow.durations.length > 0)
    return { fields: {}, duration: error.message };
  const fields: Record<string, string> = {};
  const elsewhere: string[] = [];
  for (const problem of error.fieldProblems) {
    const shown = flow.fields.some((f) => f.name === problem.field && f.visible);
    if (!shown) elsewhere.push(problem.message);
    else
      fields[problem.field] = fields[problem.field]
        ? `${fields[problem.field]}; ${problem.message}`
        : problem.message;
  }
  if (Object.keys(fields).length === 0) return { fields, form: error };
  return { fields, form: elsewhere.length > 0 ? new Error(elsewhere.join("; ")) : undefined };
}

export function RequestForm({ flow }: { flow: Flow }) {
  const formId = useId();
  const inputId = (name: "target" | "duration") => `${formId}-${name}`;
  const fieldId = (name: string) => `${formId}-field-${name}`;
  const [target, setTarget] = useState(flow.targets.length === 1 ? (flow.targets[0]?.name ?? "") : "");
  const [duration, setDuration] = useState(flow.durations.length > 0 ? String(flow.durations[0]) : "");
  const [drafts, setDrafts] = useState<Record<string, Draft>>(() =>
    Object.fromEntries(flow.fields.map((f) => [f.name, initialDraft(f)])),
  );
  const [problems, setProblems] = useState<Problems>({ fields: {} });
  const [sending, setSending] = useState(false);
  const summary = useRef<HTMLDivElement>(null);

  const visible = flow.fields.filter((f) => f.visible);
  const inline = Object.keys(problems.fields).length > 0 || problems.target || problems.duration;

  const focusProblem = useRef(false);
  useEffect(() => {
    // After a refusal, keyboard and screen reader users land on the first thing to fix.
    if (!focusProblem.current) return;
    focusProblem.current = false;
    const field = visible.find((f) => problems.fields[f.name]);
    const first = problems.target
      ? inputId("target")
      : problems.duration
        ? inputId("duration")
        : field && fieldId(field.name);
    if (first) document.getElementById(first)?.focus();
    else summary.current?.focus();
  });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSending(true);
    const fields: Record<string, unknown> = {};
    for (const field of visible) {
      const draft = drafts[field.name];
      const value = draft ? fieldValue(field, draft) : undefined;
      if (value !== undefined) fields[field.name] = value;
    }
    try {
      const created = await api.createRequest({
        flow: flow.name,
        target: target || undefined,
        duration: duration ? Number(duration) : undefined,
        fields,
      });
      navigate(`/?highlight=${encodeURIComponent(created.id)}`);
    } catch (error) {
      focusProblem.current = true;
      setProblems(problemsOf(error, flow));
      setSending(false);
    }
  };

  return (
    <form className="form" onSubmit={submit} noValidate aria-label={`Request ${flow.label}`}>
      {inline ? (
        <div className="notice notice-error" role="alert">
          The request was not sent: fix the fields marked below.
        </div>
      ) : null}
      {problems.form ? (
        <div ref={summary} tabIndex={-1}>
          <ErrorNotice error={problems.form} action="request this access" />
        </div>
      ) : null}
      {flow.targets.length > 1 || visible.some(mustAnswer) ? (
        <p className="muted" id={`${formId}-note`}>
          Fields marked * are required.
        </p>
      ) : null}

      {flow.targets.length > 1 ? (
        <div className={problems.target ? "field invalid" : "field"}>
          <label htmlFor={inputId("target")}>
            Target
            <span className="required" aria-hidden="true">
              {" "}
              *
            </span>
          </label>
          {problems.target ? (
            <p className="field-error" id={`${inputId("target")}-error`}>
              {problems.target}
            </p>
          ) : null}
          <select
            id={inputId("target")}
            value={target}
            aria-required
            aria-invalid={problems.target ? true : undefined}
            aria-describedby={problems.target ? `${inputId("target")}-error` : undefined}
            onChange={(e) => setTarget(e.target.value)}
          >
            <option value="">Choose…</option>
            {flow.targets.map((t) => (
              <option key={t.name} value={t.name}>
                {t.label}
              </option>
            ))}
          </select>
        </div>
      ) : flow.targets.length === 1 ? (
        <p className="fixed-value">
          <span className="fixed-label">Target</span> {flow.targets[0]?.label}
        </p>
      ) : null}

      {flow.durations.length > 0 ? (
        <div className={problems.duration ? "field invalid" : "field"}>
          <label htmlFor={inputId("duration")}>Duration</label>
          <p className="hint" id={`${inputId("duration")}-hint`}>
            Access is removed automatically when this time is up.
          </p>
          {problems.duration ? (
            <p className="field-error" id={`${inputId("duration")}-error`}>
              {problems.duration}
            </p>
          ) : null}
          <select
            id={inputId("duration")}
            value={duration}
            aria-invalid={problems.duration ? true : undefined}
            aria-describedby={`${inputId("duration")}-hint${problems.duration ? ` ${inputId("duration")}-error` : ""}`}
            onChange={(e) => setDuration(e.target.value)}
          >
            {flow.durations.map((d) => (
              <option key={d} value={String(d)}>
                {formatDuration(d)}
              </option>
            ))}
          </select>
        </div>
      ) : null}

      {visible.map((field) => {
        const draft = drafts[field.name] ?? initialDraft(field);
        return (
          <FieldInput
            key={field.name}
            id={fieldId(field.name)}
            flow={flow.name}
            field={field}
            draft={draft}
            error={problems.fields[field.name]}
            onChange={(next) => setDrafts((d) => ({ ...d, [field.name]: next }))}
          />
        );
      })}

      <div className="form-actions">
        <button type="submit" className="button primary" disabled={sending}>
          {sending ? "Sending request…" : "Request access"}
        </button>
        <Link to="/request" className="button">
          Choose another flow
        </Link>
      </div>
    </form>
  );
}
