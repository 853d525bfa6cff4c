// The request modal: a flow picker, then a form built from the flow's fields (pure; no I/O).

import type { InputBlockElement, KnownBlock, ModalView } from "@slack/types";
import type { FlowView } from "../../../engine/read/flows.ts";
import { humanDuration } from "../../../lib/duration.ts";
import { context, input, modal, option, options, plain, section } from "../blocks/build.ts";
import { limits } from "../blocks/limits.ts";
import { escapeMrkdwn, truncate } from "../blocks/text.ts";

export const ids = {
  loading: "jf_loading",
  pick: "jf_pick",
  request: "jf_request",
  done: "jf_done",
  targetBlock: "jf:target",
  durationBlock: "jf:duration",
  flowBlock: "jf:flow",
  value: "v",
} as const;

/** What the form remembers between Slack's calls (private_metadata). */
export interface FormMetadata {
  flow: string;
}

export const fieldBlockId = (name: string): string => `f:${name}`;
export const fieldOfBlockId = (blockId: string): string | undefined =>
  blockId.startsWith("f:") ? blockId.slice(2) : undefined;

export function loadingView(): ModalView {
  return modal({
    title: "Request access",
    callbackId: ids.loading,
    blocks: [section(":hourglass_flowing_sand: Loading…")],
  });
}

export function messageView(title: string, text: string): ModalView {
  return modal({ title, callbackId: ids.done, blocks: [section(text)] });
}

/** A dropdown of the flows this person may request; choosing one and pressing Next opens its form. */
export function flowPicker(flows: FlowView[], note?: string): ModalView {
  const blocks: KnownBlock[] = [];
  if (note) blocks.push(context(escapeMrkdwn(note)));
  blocks.push(
    input(
      ids.flowBlock,
      "What do you need access to?",
      {
        type: "static_select",
        action_id: ids.value,
        placeholder: plain("Choose a flow", limits.placeholder),
        options: options(flows.map((f) => option(f.label, f.name, f.description ?? undefined))),
      },
      { hint: flows.length > limits.selectOptions ? "Only the first 100 flows are listed." : undefined },
    ),
  );
  return modal({ title: "Request access", callbackId: ids.pick, submit: "Next", blocks });
}

/** Slack refuses a view over 250 kB; a form that would come close loads its longest lists on demand. */
const maxViewBytes = 240_000;

/**
 * The form for one flow. A field with more allowed values than a dropdown holds (100), or a form too
 * large for Slack, gets a typeahead served from the allowed values instead (listeners.ts).
 */
export function requestForm(flow: FlowView, additionalHeaderText: string | undefined): ModalView {
  const typeahead = new Set(
    flow.fields.filter((f) => (f.allowedValues?.length ?? 0) > limits.selectOptions).map((f) => f.name),
  );
  let view = buildForm(flow, additionalHeaderText, typeahead);
  const bySize = flow.fields
    .filter((f) => f.allowedValues && !typeahead.has(f.name))
    .sort((a, b) => (b.allowedValues?.length ?? 0) - (a.allowedValues?.length ?? 0));
  for (const field of bySize) {
    if (Buffer.byteLength(JSON.stringify(view)) <= maxViewBytes) break;
    typeahead.add(field.name);
    view = buildForm(flow, additionalHeaderText, typeahead);
  }
  return view;
}

function buildForm(
  flow: FlowView,
  additionalHeaderText: string | undefined,
  typeahead: Set<string>,
): ModalView {
  const blocks: KnownBlock[] = [];
  if (additionalHeaderText) blocks.push(section(escapeMrkdwn(additionalHeaderText)));
  blocks.push(
    section(`*${escapeMrkdwn(flow.label)}*${flow.description ? `\n${escapeMrkdwn(flow.description)}` : ""}`),
  );
  if (flow.targets.length > 1) {
    blocks.push(
      input(ids.targetBlock, "Target", {
        type: "static_select",
        action_id: ids.value,
        placeholder: plain("Choose a target", limits.placeholder),
        options: options(flow.targets.map((t) => option(t.label, t.name))),
      }),
    );
  } else if (flow.targets.length === 1) {
    blocks.push(context(`Target: *${escapeMrkdwn((flow.targets[0] as FlowView["targets"][0]).label)}*`));
  }
  if (flow.durations.length > 0) {
    const choices = options(flow.durations.map((d) => option(humanDuration(d), String(d))));
    blocks.push(
      input(ids.durationBlock, "For how long?", {
        type: "static_select",
        action_id: ids.value,
        options: choices,
        initial_option: choices[0],
      }),
    );
  }
  for (const field of flow.fields) {
    if (!field.visible) continue;
    blocks.push(
      input(fieldBlockId(field.name), field.label, fieldElement(field, typeahead.has(field.name)), {
        optional: !field.required || field.default !== null,
        hint: field.description ?? undefined,
      }),
    );
  }
  return modal({
    title: "Request access",
    callbackId: ids.request,
    submit: "Request",
    privateMetadata: JSON.stringify({ flow: flow.name } satisfies FormMetadata),
    blocks,
  });
}

type Field = FlowView["fields"][number];

const isList = (field: Field): boolean =>
  field.type === "str_list" || field.type === "int_list" || field.type === "user_list";

/** Allowed values travel as their index: a value may be longer than an option's 75 characters. */
export const allowedValueKey = (index: number): string => `i:${index}`;

function fieldElement(field: Field, typeahead: boolean): InputBlockElement {
  const placeholder = plain(field.type === "duration" ? "e.g. 30m, 2h" : " ", limits.placeholder);
  if (field.allowedValues && typeahead) {
    return isList(field)
      ? { type: "multi_external_select", action_id: ids.value, min_query_length: 0, placeholder }
      : { type: "external_select", action_id: ids.value, min_query_length: 0, placeholder };
  }
  if (field.allowedValues) {
    const choices = options(field.allowedValues.map((v, i) => option(String(v), allowedValueKey(i))));
    const initial = field.allowedValues.findIndex((v) =>
      Array.isArray(field.default) ? false : v === field.default,
    );
    if (isList(field)) {
      const defaults = Array.isArray(field.default) ? field.default : [];
      const picked = choices.filter((_, i) => defaults.includes(field.allowedValues?.[i]));
      return {
        type: "multi_static_select",
        action_id: ids.value,
        options: choices,
        ...(picked.length ? { initial_options: picked } : {}),
      };
    }
    return {
      type: "static_select",
      action_id: ids.value,
      options: choices,
      ...(initial >= 0 && choices[initial] ? { initial_option: choices[initial] } : {}),
    };
  }
  if (field.prefetch) {
    return isList(field)
      ? { type: "multi_external_select", action_id: ids.value, min_query_length: 0, placeholder }
      : { type: "external_select", action_id: ids.value, min_query_length: 0, placeholder };
  }
  switch (field.type) {
    case "user":
      return { type: "users_select", action_id: ids.value };
    case "user_list":
      return { type: "multi_users_select", action_id: ids.value };
    case "bool": {
      const yes = option("Yes", "true");
      const no = option("No", "false");
      return {
        type: "static_select",
        action_id: ids.value,
        options: [yes, no],
        ...(field.default === true
          ? { initial_option: yes }
          : field.default === false
            ? { initial_option: no }
            : {}),
      };
    }
    case "int":
      return {
        type: "number_input",
        action_id: ids.value,
        is_decimal_allowed: false,
        ...(typeof field.default === "number" ? { initial_value: String(field.default) } : {}),
      };
    case "text":
    case "str_list":
    case "int_list":
      return {
        type: "plain_text_input",
        action_id: ids.value,
        multiline: true,
        max_length: limits.inputMaxLength,
        ...(field.type !== "text" ? { placeholder: plain("One per line", limits.placeholder) } : {}),
        ...initialText(field),
      };
    default:
      return {
        type: "plain_text_input",
        action_id: ids.value,
        max_length: limits.inputMaxLength,
        placeholder,
        ...initialText(field),
      };
  }
}

function initialText(field: Field): { initial_value?: string } {
  if (field.default === null || field.default === undefined) return {};
  const text = Array.isArray(field.default) ? field.default.join("\n") : String(field.default);
  return { initial_value: truncate(text, limits.inputMaxLength) };
}
