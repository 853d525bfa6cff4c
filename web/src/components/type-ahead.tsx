// A combobox for prefetched fields: suggestions from the options endpoint as the person types (debounced),
// chosen with the mouse or the arrow keys and Enter; several at once for list fields.

import { type KeyboardEvent, useEffect, useId, useState } from "react";
import { api, describeError } from "../api.ts";
import type { Draft } from "../field-kind.ts";
import type { FlowField, Option } from "../types.ts";

type TypeAheadDraft = Extract<Draft, { kind: "typeahead" | "multi-typeahead" }>;

const debounceMs = 250;

export function TypeAhead({
  id,
  flow,
  field,
  draft,
  onChange,
  describedBy,
  invalid,
  required,
}: {
  id: string;
  flow: string;
  field: FlowField;
  draft: TypeAheadDraft;
  onChange: (draft: TypeAheadDraft) => void;
  describedBy: string | undefined;
  invalid: boolean;
  required: boolean;
}) {
  const listId = useId();
  const [text, setText] = useState(draft.kind === "typeahead" ? draft.text : "");
  const [query, setQuery] = useState("");
  const [open, setOpen] = useState(false);
  const [options, setOptions] = useState<Option[]>([]);
  const [status, setStatus] = useState<"idle" | "loading" | "done" | "error">("idle");
  const [problem, setProblem] = useState("");
  // The highlighted suggestion, by value: it stays highlighted when newer suggestions still hold it.
  const [activeValue, setActiveValue] = useState<string | number | null>(null);

  useEffect(() => {
    if (!open) return;
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      setStatus("loading");
      api.options(flow, field.name, query, controller.signal).then(
        (items) => {
          setOptions(items);
          setStatus("done");
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          setOptions([]);
          setProblem(describeError(error, "load suggestions"));
          setStatus("error");
        },
      );
    }, debounceMs);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [open, query, flow, field.name]);

  const picked = draft.kind === "multi-typeahead" ? draft.picked : [];
  const shown = options.filter((o) => !picked.some((p) => p.value === o.value));
  const active = shown.findIndex((o) => o.value === activeValue);
  const highlight = (index: number) => setActiveValue(shown[index]?.value ?? null);
  const expanded = open && shown.length > 0;

  const pick = (option: Option) => {
    if (draft.kind === "multi-typeahead") {
      onChange({ kind: "multi-typeahead", picked: [...draft.picked, option] });
      setText("");
    } else {
      onChange({ kind: "typeahead", text: option.label, picked: option });
      setText(option.label);
      setOpen(false);
    }
    setQuery("");
    setActiveValue(null);
  };

  const unpick = (option: Option) => {
    if (draft.kind === "multi-typeahead") {
      onChange({ kind: "multi-typeahead", picked: draft.picked.filter((p) => p.value !== option.value) });
    }
  };

  const type = (value: string) => {
    setText(value);
    setQuery(value);
    setOpen(true);
    if (draft.kind === "typeahead") onChange({ kind: "typeahead", text: value, picked: null });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!open) setOpen(true);
      else highlight(Math.min(active + 1, shown.length - 1));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      highlight(Math.max(active - 1, 0));
    } else if (event.key === "Enter" && expanded && shown[active]) {
      event.preventDefault();
      pick(shown[active]);
    } else if (event.key === "Enter" && draft.kind === "multi-typeahead" && text.trim()) {
      // A value typed out in full counts too; the server says if it is not allowed.
      event.preventDefault();
      pick({ value: text.trim(), label: text.trim() });
    } else if (event.key === "Enter" && expanded) {
      // Enter in an open list closes it rather than sending the form half-filled.
      event.preventDefault();
      setOpen(false);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      setOpen(false);
    } else if (event.key === "Backspace" && draft.kind === "multi-typeahead" && text === "") {
      const last = draft.picked.at(-1);
      if (last) unpick(last);
    }
  };

  const optionId = (i: number) => `${listId}-${i}`;
  const message =
    status === "loading"
      ? "Loading suggestions…"
      : status === "error"
        ? problem
        : status === "done" && shown.length === 0
          ? "No matches"
          : "";

  return (
    <div className="typeahead">
      {draft.kind === "multi-typeahead" && draft.picked.length > 0 ? (
        <ul className="chips" aria-label="Chosen">
          {draft.picked.map((option) => (
            <li key={String(option.value)} className="chip">
              {option.label}
              <button
                type="button"
                className="chip-remove"
                onClick={() => unpick(option)}
                aria-label={`Remove ${option.label}`}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <input
        id={id}
        type="text"
        role="combobox"
        autoComplete="off"
        aria-autocomplete="list"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-activedescendant={expanded && active >= 0 ? optionId(active) : undefined}
        aria-describedby={describedBy}
        aria-invalid={invalid || undefined}
        aria-required={required || undefined}
        placeholder="Type to search"
        value={text}
        onChange={(e) => type(e.target.value)}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
      />
      <div id={listId} role="listbox" aria-label="Suggestions" className="listbox" hidden={!expanded}>
        {shown.map((option, i) => (
          // biome-ignore lint/a11y/useKeyWithClickEvents: the combobox input handles the keys (aria-activedescendant).
          <div
            key={String(option.value)}
            id={optionId(i)}
            role="option"
            tabIndex={-1}
            aria-selected={i === active}
            className={i === active ? "option active" : "option"}
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => pick(option)}
          >
            {option.label}
            {option.label !== String(option.value) ? (
              <span className="option-value">{String(option.value)}</span>
            ) : null}
          </div>
        ))}
      </div>
      {open && message ? (
        <p
          className={status === "error" ? "typeahead-message error-text" : "typeahead-message"}
          role="status"
        >
          {message}
        </p>
      ) : null}
    </div>
  );
}
