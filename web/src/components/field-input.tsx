// One flow field in the request form: its label, help text, the control its type calls for, and the
// server's complaint about it, if any.

import type { ReactNode } from "react";
import { controlOf, type Draft } from "../field-kind.ts";
import type { FlowField } from "../types.ts";
import { TypeAhead } from "./type-ahead.tsx";

const controlHints: Partial<Record<ReturnType<typeof controlOf>, string>> = {
  duration: "e.g. 30m, 2h",
  lines: "One per line.",
  multiselect: "Hold Ctrl (⌘ on a Mac) to choose more than one.",
  "multi-typeahead": "Choose as many as you need.",
};

/** Required, and no default the server would fill in. */
export const mustAnswer = (field: FlowField): boolean =>
  field.required && (field.default === null || field.default === undefined);

export function FieldInput({
  id,
  flow,
  field,
  draft,
  onChange,
  error,
}: {
  id: string;
  flow: string;
  field: FlowField;
  draft: Draft;
  onChange: (draft: Draft) => void;
  error: string | undefined;
}) {
  const control = controlOf(field);
  const required = mustAnswer(field);
  const hint = [
    field.description,
    field.type === "user_list" && control === "lines" ? "One email address per line." : controlHints[control],
  ]
    .filter(Boolean)
    .join(" ");
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : "", error ? errorId : ""].filter(Boolean).join(" ") || undefined;
  const aria = {
    id,
    "aria-describedby": describedBy,
    "aria-invalid": error ? true : undefined,
    "aria-required": required || undefined,
  } as const;
  const text = draft.kind === "text" ? draft.text : "";
  const setText = (value: string) => onChange({ kind: "text", text: value });
  const allowed = field.allowedValues ?? [];

  const label = (
    <label htmlFor={id}>
      {field.label}
      {required ? (
        <span className="required" aria-hidden="true">
          {" "}
          *
        </span>
      ) : null}
    </label>
  );
  const help = (
    <>
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      ) : null}
    </>
  );

  if (draft.kind === "checkbox") {
    return (
      <div className={error ? "field field-checkbox invalid" : "field field-checkbox"}>
        <input
          {...aria}
          type="checkbox"
          checked={draft.checked}
          onChange={(e) => onChange({ kind: "checkbox", checked: e.target.checked })}
        />
        {label}
        {help}
      </div>
    );
  }

  let input: ReactNode;
  switch (control) {
    case "select":
      input = (
        <select
          {...aria}
          value={draft.kind === "select" ? draft.index : ""}
          onChange={(e) => onChange({ kind: "select", index: e.target.value })}
        >
          <option value="">{required ? "Choose…" : "None"}</option>
          {allowed.map((value, i) => (
            <option key={String(value)} value={String(i)}>
              {String(value)}
            </option>
          ))}
        </select>
      );
      break;
    case "multiselect":
      input = (
        <select
          {...aria}
          multiple
          size={Math.min(Math.max(allowed.length, 2), 6)}
          value={draft.kind === "multiselect" ? draft.indexes : []}
          onChange={(e) =>
            onChange({ kind: "multiselect", indexes: Array.from(e.target.selectedOptions, (o) => o.value) })
          }
        >
          {allowed.map((value, i) => (
            <option key={String(value)} value={String(i)}>
              {String(value)}
            </option>
          ))}
        </select>
      );
      break;
    case "typeahead":
    case "multi-typeahead":
      input =
        draft.kind === "typeahead" || draft.kind === "multi-typeahead" ? (
          <TypeAhead
            id={id}
            flow={flow}
            field={field}
            draft={draft}
            onChange={onChange}
            describedBy={describedBy}
            invalid={Boolean(error)}
            required={required}
          />
        ) : null;
      break;
    case "email":
      input = (
        <input
          {...aria}
          type="email"
          autoComplete="off"
          placeholder="name@example.com"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      );
      break;
    case "number":
      input = (
        <input
          {...aria}
          type="number"
          step={1}
          inputMode="numeric"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      );
      break;
    case "textarea":
    case "lines":
      input = (
        <textarea
          {...aria}
          rows={control === "lines" ? 4 : 3}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      );
      break;
    default:
      input = <input {...aria} type="text" value={text} onChange={(e) => setText(e.target.value)} />;
  }

  return (
    <div className={error ? "field invalid" : "field"}>
      {label}
      {help}
      {input}
    </div>
  );
}
