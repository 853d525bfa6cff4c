// Bolt listeners: slash command, buttons, modal submissions, option loads and the App Home, one module per
// interaction under interactions/. Each acknowledges within Slack's 3 seconds; anything that changes state
// is recorded first (inbound.ts).

import type { App } from "@slack/bolt";
import { registerCommand } from "./interactions/command.ts";
import { createInteractions, type ListenerDeps } from "./interactions/context.ts";
import { registerDecisions } from "./interactions/decisions.ts";
import { registerExtend } from "./interactions/extend.ts";
import { registerHome } from "./interactions/home.ts";
import { registerOptions } from "./interactions/options.ts";
import { registerRequestForm } from "./interactions/request-form.ts";

export function registerListeners(app: App, l: ListenerDeps): void {
  const ctx = createInteractions(l);
  registerCommand(app, ctx);
  registerRequestForm(app, ctx);
  registerDecisions(app, ctx);
  registerExtend(app, ctx);
  registerOptions(app, ctx);
  registerHome(app, ctx);
}
