// Notifications: how jitflow tells this person about requests (Slack, email or both), limited to the
// channels the server has.

import { type FormEvent, useCallback, useId, useState } from "react";
import { api } from "../api.ts";
import { ErrorNotice, Loading, Notice } from "../components/notice.tsx";
import { Page } from "../components/page.tsx";
import { useSignedIn } from "../session.tsx";
import type { NotifyPreference, NotifySettings } from "../types.ts";
import { useResource } from "../use-resource.ts";

type Channel = keyof NotifySettings["channels"];

const choices: { value: NotifyPreference; label: string; needs: Channel[] }[] = [
  { value: "slack", label: "Slack", needs: ["slack"] },
  { value: "email", label: "Email", needs: ["email"] },
  { value: "both", label: "Both", needs: ["slack", "email"] },
];

const channelName: Record<Channel, string> = { slack: "Slack", email: "email" };

/** How the sentence "jitflow tells you about requests …" ends for each choice. */
const byWay: Record<NotifyPreference, string> = {
  slack: "in Slack",
  email: "by email",
  both: "in Slack and by email",
};

const missingOf = (needs: Channel[], settings: NotifySettings) =>
  needs.filter((channel) => !settings.channels[channel]);

export function SettingsPage() {
  const settings = useResource(useCallback((signal: AbortSignal) => api.preferences(signal), []));
  return (
    <Page title="Notifications" intro="How jitflow tells you about requests you made or may decide.">
      {settings.loading ? <Loading what="your notification settings" /> : null}
      {settings.error ? (
        <ErrorNotice error={settings.error} action="load your notification settings" />
      ) : null}
      {settings.data ? <PreferenceForm initial={settings.data} /> : null}
    </Page>
  );
}

function PreferenceForm({ initial }: { initial: NotifySettings }) {
  const { me } = useSignedIn();
  const id = useId();
  const [saved, setSaved] = useState(initial);
  const [choice, setChoice] = useState<NotifyPreference>(initial.notify);
  const [sending, setSending] = useState(false);
  const [message, setMessage] = useState("");
  const [failure, setFailure] = useState<unknown>(undefined);

  const hints: Record<NotifyPreference, string> = {
    slack: "Direct messages from the jitflow app in Slack.",
    email: `Messages to ${me.email}.`,
    both: "A Slack message and an email for each thing that happens.",
  };
  const storedMissing = missingOf(choices.find((c) => c.value === saved.notify)?.needs ?? [], saved);

  const choose = (value: NotifyPreference) => {
    setChoice(value);
    setMessage("");
    setFailure(undefined);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSending(true);
    setMessage("");
    setFailure(undefined);
    try {
      const answer = await api.savePreferences(choice);
      setSaved(answer);
      setChoice(answer.notify);
      setMessage(`Saved. jitflow will tell you about requests ${byWay[answer.notify]}.`);
    } catch (error) {
      setFailure(error);
    } finally {
      setSending(false);
    }
  };

  return (
    <form className="form" onSubmit={submit} noValidate>
      <div role="status" className="status-line">
        {message}
      </div>
      {failure ? <ErrorNotice error={failure} action="save your choice" /> : null}
      {saved.default ? (
        <Notice>
          You have not chosen yet, so jitflow tells you {byWay[saved.notify]}, this server's default.
        </Notice>
      ) : null}
      {storedMissing.length > 0 ? (
        <Notice tone="warning">
          You chose {byWay[saved.notify]}, but this server no longer has{" "}
          {storedMissing.map((c) => channelName[c]).join(" or ")} set up. Choose again.
        </Notice>
      ) : null}
      <div className="field" role="radiogroup" aria-labelledby={`${id}-legend`}>
        <p id={`${id}-legend`} className="fixed-label">
          Tell me about requests
        </p>
        {choices.map(({ value, label, needs }) => {
          const missing = missingOf(needs, saved);
          const inputId = `${id}-${value}`;
          return (
            <div key={value} className="field field-checkbox">
              <input
                id={inputId}
                type="radio"
                name={`${id}-notify`}
                value={value}
                checked={choice === value}
                disabled={missing.length > 0}
                aria-describedby={`${inputId}-hint`}
                onChange={() => choose(value)}
              />
              <label htmlFor={inputId}>{label}</label>
              <p id={`${inputId}-hint`} className="hint">
                {missing.length > 0
                  ? `Not available: this server has no ${missing.map((c) => channelName[c]).join(" or ")} set up. An admin can add it to jitflow's configuration.`
                  : hints[value]}
              </p>
            </div>
          );
        })}
      </div>
      <div className="form-actions">
        <button type="submit" className="button primary" disabled={sending}>
          {sending ? "Saving…" : "Save"}
        </button>
      </div>
    </form>
  );
}
