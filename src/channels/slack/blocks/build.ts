// Typed Block Kit builders. Each one cuts what it is given to Slack's limits, so a long value shows
// truncated ("…") instead of making Slack reject the whole message.

import type {
  ActionsBlock,
  ActionsBlockElement,
  Button,
  ContextBlock,
  DividerBlock,
  HeaderBlock,
  HomeView,
  InputBlock,
  InputBlockElement,
  KnownBlock,
  ModalView,
  MrkdwnElement,
  PlainTextElement,
  PlainTextOption,
  SectionBlock,
} from "@slack/types";
import { limits } from "./limits.ts";
import { truncate } from "./text.ts";

export const plain = (text: string, max: number): PlainTextElement => ({
  type: "plain_text",
  text: truncate(text || " ", max),
  emoji: true,
});

export const mrkdwn = (text: string, max: number): MrkdwnElement => ({
  type: "mrkdwn",
  text: truncate(text || " ", max),
});

export function header(text: string): HeaderBlock {
  return { type: "header", text: plain(text, limits.headerText) };
}

export function section(text: string, options: { blockId?: string; accessory?: Button } = {}): SectionBlock {
  return {
    type: "section",
    text: mrkdwn(text, limits.sectionText),
    ...(options.blockId ? { block_id: truncate(options.blockId, limits.blockId) } : {}),
    ...(options.accessory ? { accessory: options.accessory } : {}),
  };
}

/** Label/value pairs as section fields: ten per section, as many sections as it takes. */
export function fields(pairs: [label: string, value: string][]): SectionBlock[] {
  const out: SectionBlock[] = [];
  for (let i = 0; i < pairs.length; i += limits.sectionFields) {
    out.push({
      type: "section",
      fields: pairs
        .slice(i, i + limits.sectionFields)
        .map(([label, value]) => mrkdwn(`*${label}*\n${value}`, limits.fieldText)),
    });
  }
  return out;
}

export function context(...texts: string[]): ContextBlock {
  return {
    type: "context",
    elements: texts.slice(0, limits.contextElements).map((t) => mrkdwn(t, limits.sectionText)),
  };
}

export function divider(): DividerBlock {
  return { type: "divider" };
}

export function actions(blockId: string, elements: ActionsBlockElement[]): ActionsBlock {
  return {
    type: "actions",
    block_id: truncate(blockId, limits.blockId),
    elements: elements.slice(0, limits.actionsElements),
  };
}

export interface ButtonOptions {
  text: string;
  actionId: string;
  value: string;
  style?: "primary" | "danger";
  confirm?: { title: string; text: string; confirm: string; deny: string };
}

export function button(options: ButtonOptions): Button {
  if (options.value.length > limits.buttonValue) {
    // A cut value would mean something else: a programming error, not user input.
    throw new Error(`button value longer than ${limits.buttonValue} characters`);
  }
  return {
    type: "button",
    text: plain(options.text, limits.buttonText),
    action_id: truncate(options.actionId, limits.actionId),
    value: options.value,
    ...(options.style ? { style: options.style } : {}),
    ...(options.confirm
      ? {
          confirm: {
            title: plain(options.confirm.title, limits.confirmTitle),
            text: plain(options.confirm.text, limits.confirmText),
            confirm: plain(options.confirm.confirm, limits.confirmButton),
            deny: plain(options.confirm.deny, limits.confirmButton),
          },
        }
      : {}),
  };
}

/** An option; its value must already fit (callers map long values to short keys). */
export function option(text: string, value: string, description?: string): PlainTextOption {
  if (value.length > limits.optionValue) {
    throw new Error(`option value longer than ${limits.optionValue} characters`);
  }
  return {
    text: plain(text, limits.optionText),
    value,
    ...(description ? { description: plain(description, limits.optionDescription) } : {}),
  };
}

/** At most 100 options: Slack refuses more. */
export function options(list: PlainTextOption[]): PlainTextOption[] {
  return list.slice(0, limits.selectOptions);
}

export function input(
  blockId: string,
  label: string,
  element: InputBlockElement,
  extra: { optional?: boolean; hint?: string } = {},
): InputBlock {
  return {
    type: "input",
    block_id: truncate(blockId, limits.blockId),
    label: plain(label, limits.inputLabel),
    element,
    optional: extra.optional ?? false,
    ...(extra.hint ? { hint: plain(extra.hint, limits.inputHint) } : {}),
  };
}

/**
 * Caps a list of blocks at `max`: when there are more, the last one kept says how many were left out.
 * `more` renders that notice.
 */
export function capBlocks(
  blocks: KnownBlock[],
  max: number,
  more: (left: number) => string = (n) => `…and ${n} more not shown`,
): KnownBlock[] {
  if (blocks.length <= max) return blocks;
  const kept = blocks.slice(0, max - 1);
  return [...kept, context(more(blocks.length - kept.length))];
}

export interface ModalOptions {
  title: string;
  blocks: KnownBlock[];
  callbackId: string;
  submit?: string;
  close?: string;
  privateMetadata?: string;
  externalId?: string;
}

export function modal(options: ModalOptions): ModalView {
  const metadata = options.privateMetadata ?? "";
  if (metadata.length > limits.privateMetadata) {
    throw new Error(`private_metadata longer than ${limits.privateMetadata} characters`);
  }
  return {
    type: "modal",
    callback_id: truncate(options.callbackId, limits.callbackId),
    title: plain(options.title, limits.viewTitle),
    ...(options.submit ? { submit: plain(options.submit, limits.viewButton) } : {}),
    close: plain(options.close ?? "Close", limits.viewButton),
    private_metadata: metadata,
    ...(options.externalId ? { external_id: options.externalId } : {}),
    blocks: capBlocks(options.blocks, limits.viewBlocks),
  };
}

export function homeView(blocks: KnownBlock[]): HomeView {
  return { type: "home", blocks: capBlocks(blocks, limits.viewBlocks) };
}

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** A message: fallback text (notifications, screen readers) plus at most 50 blocks. */
export function message(text: string, blocks: KnownBlock[]): SlackMessage {
  return { text: truncate(text, limits.messageText), blocks: capBlocks(blocks, limits.messageBlocks) };
}
