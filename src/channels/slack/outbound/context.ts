// What the Slack sender's parts share: the engine, the Slack settings and API, the people directory, a
// request loaded as it is now, and posting to a channel or a person.

import type { SlackSettings } from "../../../config/loader.ts";
import type { EngineDeps } from "../../../engine/deps.ts";
import { toView } from "../../../engine/read/views.ts";
import { getDecisions, getRequest } from "../../../store/requests.ts";
import type { SlackMessage } from "../blocks/build.ts";
import type { SlackPeople } from "../people.ts";
import { labelsOf } from "../render/request-message.ts";
import type { SlackApi } from "../slack-api.ts";

/** A request as a message about it shows it: its row, decisions, view and labels. */
export type LoadedRequest = NonNullable<Awaited<ReturnType<OutboundContext["load"]>>>;

/** The shared pieces of one Slack sender. */
export type OutboundContext = ReturnType<typeof createOutboundContext>;

export function createOutboundContext(
  deps: EngineDeps,
  settings: SlackSettings,
  api: SlackApi,
  people: SlackPeople,
) {
  async function load(id: string) {
    const row = await getRequest(deps.store.db, id);
    if (!row) return undefined;
    const decisions = await getDecisions(deps.store.db, id);
    return { row, decisions, view: toView(row, decisions), labels: labelsOf(deps.config, row) };
  }

  async function post(channel: string, m: SlackMessage): Promise<{ channel: string; ts: string }> {
    const result = await api.call("chat.postMessage", channel, (c) =>
      c.chat.postMessage({ channel, text: m.text, blocks: m.blocks, unfurl_links: false }),
    );
    return { channel: result.channel as string, ts: result.ts as string };
  }

  async function dm(email: string, m: SlackMessage): Promise<void> {
    const id = await people.idOf(email);
    // Someone without a Slack account (an API-only user) is told through other channels, not here.
    if (!id) return;
    await post(id, m);
  }

  return { deps, settings, api, people, load, post, dm };
}
