// Options loaded as someone types in a form's select: allowed values searched, or the flow's prefetch.

import type { App } from "@slack/bolt";
import { flowsFor } from "../../../engine/read/flows.ts";
import { messageOf } from "../../../errors.ts";
import { option, options } from "../blocks/build.ts";
import { allowedValueKey, type FormMetadata, fieldOfBlockId } from "../render/request-form.ts";
import { metadataOf, type SlackInteractions } from "./context.ts";

export function registerOptions(app: App, ctx: SlackInteractions): void {
  const { deps, people, loadOptions, encodeOption } = ctx;
  app.options<"block_suggestion">({ type: "block_suggestion" }, async ({ ack, body }) => {
    const field = fieldOfBlockId(body.block_id);
    const meta = metadataOf<Partial<FormMetadata>>(body.view?.private_metadata);
    if (!field || !meta.flow) {
      await ack({ options: [] });
      return;
    }
    try {
      const person = await people.person(body.user.id);
      const allowed = flowsFor(deps, person, "slack")
        .find((f) => f.name === meta.flow)
        ?.fields.find((f) => f.name === field)?.allowedValues;
      if (allowed) {
        // A long list of allowed values, searched here instead of sent whole with the form.
        const q = (body.value ?? "").toLowerCase();
        const matching = allowed
          .map((v, i) => option(String(v), allowedValueKey(i)))
          .filter((_, i) => String(allowed[i]).toLowerCase().includes(q));
        await ack({ options: options(matching) });
        return;
      }
      const found = await loadOptions(meta.flow, field, person, body.value ?? "");
      await ack({
        options: options(found.map((o) => option(String(o.label), encodeOption(field, o.value)))),
      });
    } catch (err) {
      deps.logger.warn({ flow: meta.flow, field, error: messageOf(err) }, "prefetch for Slack failed");
      await ack({ options: [] });
    }
  });
}
