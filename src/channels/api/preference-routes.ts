// The caller's own notification preference: how jitflow tells them about requests (Slack, email or both).

import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { EngineDeps } from "../../engine/deps.ts";
import { JitflowError } from "../../errors.ts";
import {
  type Channels,
  defaultPreference,
  getPreference,
  type NotifyPreference,
  notifyPreferences,
  setPreference,
} from "../../store/preferences.ts";
import { channelsOf } from "../email/fan-out.ts";
import { type ApiEnv, actorOf } from "./auth.ts";
import { errors, json } from "./openapi-responses.ts";

const Notify = z
  .enum(notifyPreferences)
  .openapi({ description: "How jitflow tells the caller about requests" });

const PreferencesBody = z.object({ notify: Notify }).openapi("PreferencesBody");

export const Preferences = z
  .object({
    notify: Notify,
    default: z
      .boolean()
      .openapi({ description: "true: the caller never chose; this is the server's default" }),
    channels: z
      .object({ slack: z.boolean(), email: z.boolean() })
      .openapi({ description: "Which channels this server has configured" }),
  })
  .openapi("Preferences");

/** The channels a preference needs that this server lacks. */
function missingFor(notify: NotifyPreference, channels: Channels): (keyof Channels)[] {
  const needed: (keyof Channels)[] = notify === "both" ? ["slack", "email"] : [notify];
  return needed.filter((channel) => !channels[channel]);
}

export function registerPreferenceRoutes(app: OpenAPIHono<ApiEnv>, deps: EngineDeps): void {
  app.openapi(
    createRoute({
      method: "get",
      path: "/api/v1/me/preferences",
      summary: "How jitflow tells the caller about requests, and which channels the server has",
      responses: { 200: { description: "The caller's preference", ...json(Preferences) }, ...errors },
    }),
    async (c) => {
      const channels = channelsOf(deps);
      const stored = await getPreference(deps.store.db, actorOf(c).email);
      return c.json(
        { notify: stored ?? defaultPreference(channels), default: stored === undefined, channels },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "put",
      path: "/api/v1/me/preferences",
      summary: "Choose how jitflow tells the caller about requests: slack, email or both",
      request: { body: { required: true, ...json(PreferencesBody) } },
      responses: {
        200: { description: "The caller's preference as stored", ...json(Preferences) },
        ...errors,
      },
    }),
    async (c) => {
      const { notify } = c.req.valid("json");
      const channels = channelsOf(deps);
      const missing = missingFor(notify, channels);
      if (missing.length > 0) {
        const configured = (Object.keys(channels) as (keyof Channels)[]).filter((k) => channels[k]);
        throw new JitflowError(
          "CHANNEL_NOT_CONFIGURED",
          `${missing.join(" and ")} ${missing.length > 1 ? "are" : "is"} not configured on this server (configured: ${configured.join(", ") || "none"})`,
          { details: { channels } },
        );
      }
      await setPreference(deps.store.db, actorOf(c).email, notify, deps.clock.now());
      return c.json({ notify, default: false, channels }, 200);
    },
  );
}
