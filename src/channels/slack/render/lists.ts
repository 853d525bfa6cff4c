// The App Home tab and the /jitflow list message: my requests, my access, and what waits for my decision (pure).

import type { KnownBlock } from "@slack/types";
import type { LoadedConfig } from "../../../engine/load-config.ts";
import type { RequestView } from "../../../engine/read/views.ts";
import type { Person } from "../../../model/types.ts";
import {
  actions,
  button,
  capBlocks,
  context,
  divider,
  header,
  homeView,
  message,
  section,
} from "../blocks/build.ts";
import { limits } from "../blocks/limits.ts";
import { escapeMrkdwn, slackDate } from "../blocks/text.ts";
import { actionIds, labelsOf, stateLine, what } from "./request-message.ts";

export interface Overview {
  person: Person;
  mine: RequestView[];
  toDecide: RequestView[];
}

/** Per list, at most this many items: the surfaces have 50 (message) or 100 (home) blocks. */
const perList = 12;

function item(config: LoadedConfig, view: RequestView, viewer: string): KnownBlock[] {
  const flow = config.flows.get(view.flow);
  const labels = labelsOf(config, view);
  const mine = view.requester.email === viewer;
  const line = mine
    ? what(view, labels)
    : `${escapeMrkdwn(view.requester.email)} asks for ${what(view, labels)}`;
  const blocks: KnownBlock[] = [
    section(`${line}\n${stateLine(view, flow?.config.approvers?.minApprovals ?? 1)}`),
  ];
  const buttons = [];
  if (view.state === "pending" && !mine) {
    buttons.push(
      button({ text: "Approve", actionId: actionIds.approve, value: view.id, style: "primary" }),
      button({ text: "Deny", actionId: actionIds.deny, value: view.id, style: "danger" }),
    );
  }
  if (view.state === "pending" && mine) {
    buttons.push(button({ text: "Cancel request", actionId: actionIds.cancel, value: view.id }));
  }
  if (view.state === "active" && mine) {
    if ((flow?.maxDuration ?? 0) > 0) {
      buttons.push(button({ text: "Extend", actionId: actionIds.extend, value: view.id }));
    }
    if (flow?.config.allowRevoke) {
      buttons.push(
        button({ text: "Revoke now", actionId: actionIds.revoke, value: view.id, style: "danger" }),
      );
    }
  }
  if (buttons.length > 0) blocks.push(actions(`item:${view.id}`, buttons));
  return blocks;
}

function list(
  config: LoadedConfig,
  title: string,
  empty: string,
  views: RequestView[],
  viewer: string,
): KnownBlock[] {
  const blocks: KnownBlock[] = [section(`*${title}*`)];
  if (views.length === 0) blocks.push(context(empty));
  for (const view of views.slice(0, perList)) blocks.push(...item(config, view, viewer));
  if (views.length > perList) blocks.push(context(`…and ${views.length - perList} more.`));
  return blocks;
}

function sections(config: LoadedConfig, o: Overview, command: string): KnownBlock[] {
  const viewer = o.person.email;
  const pending = o.mine.filter((v) => v.state === "pending");
  const active = o.mine.filter(
    (v) => v.state === "active" || v.state === "escalating" || v.state === "approved",
  );
  return [
    ...list(config, "Waiting for your decision", "Nothing is waiting for you.", o.toDecide, viewer),
    divider(),
    ...list(config, "Your access", `You have no access right now. Ask with \`${command}\`.`, active, viewer),
    divider(),
    ...list(config, "Your pending requests", "You have no pending requests.", pending, viewer),
  ];
}

export function homeTab(config: LoadedConfig, o: Overview, command: string, nowMs: number) {
  return homeView(
    capBlocks(
      [
        header("jitflow: access on request"),
        section(`Signed in as *${escapeMrkdwn(o.person.email)}* (${o.person.role}).`, {
          ...(o.person.role === "guest"
            ? {}
            : {
                accessory: button({ text: "Request access", actionId: actionIds.newRequest, value: "new" }),
              }),
        }),
        divider(),
        ...sections(config, o, command),
        context(`Updated ${slackDate(nowMs)}`),
      ],
      limits.viewBlocks,
    ),
  );
}

export function listMessage(config: LoadedConfig, o: Overview, command: string) {
  return message(
    `${o.mine.length} requests, ${o.toDecide.length} waiting for you`,
    capBlocks(sections(config, o, command), limits.messageBlocks),
  );
}
