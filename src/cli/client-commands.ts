// The client commands against a running server: request, approve, deny, revoke, cancel, extend, requests, status.

import type { Command } from "commander";
import type { FlowView } from "../engine/read/flows.ts";
import type { RequestView } from "../engine/read/views.ts";
import { createClient } from "./client.ts";
import { printJson } from "./output.ts";
import { printRequest, printRequests } from "./request-format.ts";
import { oneLine } from "./terminal-text.ts";

/** `--field k=v`, repeatable; the value is converted using the flow's field type. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function coerceField(type: string | undefined, raw: string): unknown {
  switch (type) {
    case "int":
      return /^-?\d+$/.test(raw) ? Number(raw) : raw;
    case "bool":
      return raw === "true" ? true : raw === "false" ? false : raw;
    case "int_list":
      return raw.split(",").map((s) => (/^-?\d+$/.test(s.trim()) ? Number(s.trim()) : s.trim()));
    case "str_list":
    case "user_list":
      return raw.split(",").map((s) => s.trim());
    default:
      return raw;
  }
}

function show(view: RequestView, json: boolean | undefined): void {
  if (json) printJson(view);
  else printRequest(view);
}

export function registerClientCommands(program: Command): void {
  program
    .command("request")
    .description("ask for access ($JITFLOW_URL, $JITFLOW_TOKEN)")
    .argument("<flow>", "flow name")
    .option("--target <name>", "target (default: the flow's only target)")
    .option("--duration <duration>", "e.g. 15m, 1h (default: the flow's first duration)")
    .option("--field <name=value>", "a field value; repeat for several", collect, [])
    .option("--for <email>", "request for someone else (bot and admin tokens)")
    .option("--start-at <time>", "approve now, start later: when the grant starts (ISO 8601)")
    .option("--break-glass <reason>", "emergency: approve it yourself now (flows with allowBreakGlass)")
    .option("--json", "print JSON")
    .action(
      async (
        flow: string,
        options: {
          target?: string;
          duration?: string;
          field: string[];
          for?: string;
          startAt?: string;
          breakGlass?: string;
          json?: boolean;
        },
      ) => {
        const client = createClient();
        const flows = await client.get<{ items: FlowView[] }>("/api/v1/flows");
        const types = new Map(flows.items.find((f) => f.name === flow)?.fields.map((f) => [f.name, f.type]));
        const fields: Record<string, unknown> = {};
        for (const pair of options.field) {
          const eq = pair.indexOf("=");
          if (eq <= 0) {
            process.stderr.write(`error: --field takes name=value, not "${oneLine(pair)}"\n`);
            process.exit(2);
          }
          const name = pair.slice(0, eq);
          fields[name] = coerceField(types.get(name), pair.slice(eq + 1));
        }
        const created = await client.post<RequestView & { overlaps: string[] }>("/api/v1/requests", {
          flow,
          target: options.target,
          duration: options.duration,
          fields,
          requester: options.for,
          startAt: options.startAt,
          breakGlass: options.breakGlass,
        });
        if (options.json) printJson(created);
        else {
          printRequest(created);
          if (created.overlaps.length) {
            process.stdout.write(
              `note: you already hold this access through ${oneLine(created.overlaps.join(", "))}\n`,
            );
          }
        }
      },
    );

  for (const action of ["approve", "deny", "revoke", "cancel"] as const) {
    program
      .command(action)
      .description(`${action} a request`)
      .argument("<id>", "request id")
      .option("--reason <text>", "a note kept with the decision")
      .option("--json", "print JSON")
      .action(async (id: string, options: { reason?: string; json?: boolean }) => {
        const view = await createClient().post<RequestView>(
          `/api/v1/requests/${encodeURIComponent(id)}/${action}`,
          {
            reason: options.reason,
          },
        );
        show(view, options.json);
      });
  }

  program
    .command("extend")
    .description("extend an active grant")
    .argument("<id>", "request id")
    .requiredOption("--duration <duration>", "how much longer, e.g. 30m")
    .option("--json", "print JSON")
    .action(async (id: string, options: { duration: string; json?: boolean }) => {
      const view = await createClient().post<RequestView>(
        `/api/v1/requests/${encodeURIComponent(id)}/extend`,
        {
          duration: options.duration,
        },
      );
      show(view, options.json);
    });

  program
    .command("break-glass")
    .description("list break-glass requests for review (admins)")
    .option("--all", "also those already reviewed")
    .option("--json", "print JSON")
    .action(async (options: { all?: boolean; json?: boolean }) => {
      const page = await createClient().get<{ items: RequestView[] }>(
        `/api/v1/admin/break-glass${options.all ? "" : "?reviewed=false"}`,
      );
      if (options.json) printJson(page);
      else printRequests(page.items);
    });

  program
    .command("review")
    .description("mark a break-glass request reviewed (admins)")
    .argument("<id>", "request id")
    .option("--note <text>", "what the review found")
    .option("--json", "print JSON")
    .action(async (id: string, options: { note?: string; json?: boolean }) => {
      const view = await createClient().post<RequestView>(
        `/api/v1/requests/${encodeURIComponent(id)}/review`,
        {
          reason: options.note,
        },
      );
      show(view, options.json);
    });

  program
    .command("status")
    .description("show one request")
    .argument("<id>", "request id")
    .option("--json", "print JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      show(await createClient().get<RequestView>(`/api/v1/requests/${encodeURIComponent(id)}`), options.json);
    });

  program
    .command("requests")
    .description("list requests, newest first")
    .option("--state <states>", "e.g. pending or active,escalating")
    .option("--flow <flow>", "only this flow")
    .option("--mine", "only my requests")
    .option("--limit <n>", "how many", "50")
    .option("--json", "print JSON")
    .action(
      async (options: { state?: string; flow?: string; mine?: boolean; limit: string; json?: boolean }) => {
        const query = new URLSearchParams();
        if (options.state) query.set("state", options.state);
        if (options.flow) query.set("flow", options.flow);
        if (options.mine) query.set("mine", "true");
        query.set("limit", options.limit);
        const page = await createClient().get<{ items: RequestView[]; nextCursor: string | null }>(
          `/api/v1/requests?${query}`,
        );
        if (options.json) printJson(page);
        else printRequests(page.items);
      },
    );
}
