// How each flow field is asked for, with the same rules as the Slack form, and how the answer becomes the
// value sent to POST /api/v1/requests (pure; no I/O).

import type { FlowField, Option } from "./types.ts";

export type Control =
  | "select"
  | "multiselect"
  | "typeahead"
  | "multi-typeahead"
  | "email"
  | "lines"
  | "checkbox"
  | "number"
  | "textarea"
  | "duration"
  | "text";

/** What the person has typed or chosen so far, by control. */
export type Draft =
  | { kind: "text"; text: string }
  | { kind: "select"; index: string }
  | { kind: "multiselect"; indexes: string[] }
  | { kind: "checkbox"; checked: boolean }
  | { kind: "typeahead"; text: string; picked: Option | null }
  | { kind: "multi-typeahead"; picked: Option[] };

const listTypes = new Set(["str_list", "int_list", "user_list"]);
export const isList = (field: FlowField): boolean => listTypes.has(field.type);

export function controlOf(field: FlowField): Control {
  if (field.allowedValues) return isList(field) ? "multiselect" : "select";
  if (field.prefetch) return isList(field) ? "multi-typeahead" : "typeahead";
  switch (field.type) {
    case "user":
      return "email";
    case "user_list":
    case "str_list":
    case "int_list":
      return "lines";
    case "bool":
      return "checkbox";
    case "int":
      return "number";
    case "text":
      return "textarea";
    case "duration":
      return "duration";
    default:
      return "text";
  }
}

const defaultText = (value: unknown): string =>
  value === null || value === undefined ? "" : Array.isArray(value) ? value.join("\n") : String(value);

export function initialDraft(field: FlowField): Draft {
  const allowed = field.allowedValues ?? [];
  switch (controlOf(field)) {
    case "select": {
      const index = allowed.indexOf(field.default as string | number);
      return { kind: "select", index: index >= 0 ? String(index) : "" };
    }
    case "multiselect": {
      const defaults = Array.isArray(field.default) ? field.default : [];
      return {
        kind: "multiselect",
        indexes: allowed.flatMap((v, i) => (defaults.includes(v) ? [String(i)] : [])),
      };
    }
    case "checkbox":
      return { kind: "checkbox", checked: field.default === true };
    case "typeahead": {
      const text = defaultText(field.default);
      return { kind: "typeahead", text, picked: text ? { value: text, label: text } : null };
    }
    case "multi-typeahead": {
      const defaults = Array.isArray(field.default) ? (field.default as (string | number)[]) : [];
      return { kind: "multi-typeahead", picked: defaults.map((v) => ({ value: v, label: String(v) })) };
    }
    default:
      return { kind: "text", text: defaultText(field.default) };
  }
}

/** A number when the text is one; otherwise the text, so the server's validation names the problem. */
const asNumber = (text: string): number | string => (/^-?\d+$/.test(text) ? Number(text) : text);

/** The value to send, or undefined to leave the field out (the server then applies its default). */
export function fieldValue(field: FlowField, draft: Draft): unknown {
  const allowed = field.allowedValues ?? [];
  switch (draft.kind) {
    case "select":
      return draft.index === "" ? undefined : allowed[Number(draft.index)];
    case "multiselect":
      return draft.indexes.length > 0 ? draft.indexes.map((i) => allowed[Number(i)]) : undefined;
    case "checkbox":
      return draft.checked;
    case "typeahead":
      if (draft.picked) return draft.picked.value;
      return draft.text.trim() === "" ? undefined : draft.text.trim();
    case "multi-typeahead":
      return draft.picked.length > 0 ? draft.picked.map((o) => o.value) : undefined;
    case "text": {
      const text = draft.text;
      if (text.trim() === "") return undefined;
      if (isList(field)) {
        const items = text
          .split("\n")
          .map((line) => line.trim())
          .filter(Boolean);
        return field.type === "int_list" ? items.map(asNumber) : items;
      }
      if (field.type === "int") return asNumber(text.trim());
      return field.type === "text" ? text : text.trim();
    }
  }
}
