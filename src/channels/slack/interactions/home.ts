import type { App } from "@slack/bolt";
import { recordInbound } from "../inbound.ts";
import type { SlackInteractions } from "./context.ts";

export function registerHome(app: App, ctx: SlackInteractions): void {
  const { deps } = ctx;
  app.event("app_home_opened", async ({ event, body }) => {
    const eventId = (body as { event_id?: unknown }).event_id;
    // Bolt has acknowledged events already: a crash now loses only this refresh of the Home tab.
    if (event.tab !== "home" || typeof eventId !== "string") return;
    await recordInbound(deps, { op: "home", user: event.user }, `event:${eventId}`);
  });
}
