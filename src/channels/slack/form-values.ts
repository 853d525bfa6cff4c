// Turns a submitted Slack form (view.state.values) into a submission: target, duration and field values.

import type { FlowView } from "../../engine/read/flows.ts";
import { fieldBlockId, ids } from "./render/request-form.ts";

/** One input's state as Slack sends it. */
export interface ElementState {
  type?: string;
  value?: string | null;
  selected_option?: { value: string } | null;
  selected_options?: { value: string }[];
  selected_user?: string | null;
  selected_users?: string[];
}

export type FormState = Record<string, Record<string, ElementState>>;

export interface FormSubmission {
  target: string | undefined;
  duration: number | undefined;
  fields: Record<string, unknown>;
}

export interface FormResolvers {
  /** A Slack user id's email (the field asks, so a failure can be shown on it). */
  email(userId: string, field: string): Promise<string>;
  /** A prefetched option's real value, for options whose value was too long for Slack. */
  prefetched(field: string, key: string): Promise<string | number>;
}

export async function readForm(
  flow: FlowView,
  state: FormState,
  resolve: FormResolvers,
): Promise<FormSubmission> {
  const at = (blockId: string): ElementState | undefined => state[blockId]?.[ids.value];
  const target = at(ids.targetBlock)?.selected_option?.value ?? undefined;
  const durationText = at(ids.durationBlock)?.selected_option?.value;
  const fields: Record<string, unknown> = {};
  for (const field of flow.fields) {
    const s = at(fieldBlockId(field.name));
    if (!s) continue;
    const value = await readField(field, s, resolve);
    if (value !== undefined) fields[field.name] = value;
  }
  return { target, duration: durationText === undefined ? undefined : Number(durationText), fields };
}

type Field = FlowView["fields"][number];

async function readField(field: Field, s: ElementState, resolve: FormResolvers): Promise<unknown> {
  const list = field.type === "str_list" || field.type === "int_list" || field.type === "user_list";
  const fromKey = async (key: string): Promise<unknown> => {
    if (field.allowedValues && key.startsWith("i:")) return field.allowedValues[Number(key.slice(2))];
    if (field.prefetch) return resolve.prefetched(field.name, key);
    return key;
  };
  if (s.selected_options) {
    const values = await Promise.all(s.selected_options.map((o) => fromKey(o.value)));
    return values.length > 0 ? values : undefined;
  }
  if (s.selected_option !== undefined) {
    if (s.selected_option === null) return undefined;
    if (field.type === "bool") return s.selected_option.value === "true";
    return fromKey(s.selected_option.value);
  }
  if (s.selected_users) {
    const emails = await Promise.all(s.selected_users.map((id) => resolve.email(id, field.name)));
    return emails.length > 0 ? emails : undefined;
  }
  if (s.selected_user !== undefined)
    return s.selected_user ? resolve.email(s.selected_user, field.name) : undefined;
  const text = s.value ?? "";
  if (text.trim() === "") return undefined;
  if (list) {
    const items = text
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean);
    return field.type === "int_list" ? items.map(asNumber) : items;
  }
  if (field.type === "int") return asNumber(text.trim());
  return text;
}

/** A number when the text is one; otherwise the text, so validation names the problem. */
function asNumber(text: string): number | string {
  return /^-?\d+$/.test(text) ? Number(text) : text;
}
