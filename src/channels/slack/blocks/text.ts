// Text for Slack: visible truncation to a limit, and escaping so user input cannot become mentions, links or
// formatting.

/** Cuts text to at most `max` characters, ending in "…" when it was cut (never splitting a surrogate pair). */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join("")}…`;
}

// Slack has no escape for its formatting characters (a backslash shows as typed, and a zero-width space
// counts as a word break, so it can switch formatting on), so each becomes a look-alike it does not
// format: the choice jsx-slack makes where it cannot escape (docs/about-escape-and-exact-mode.md there).
const lookAlikes: Record<string, string> = {
  "*": "\u2217", // ∗ asterisk operator
  _: "\u02cd", // ˍ modifier letter low macron
  "~": "\u223c", // ∼ tilde operator
  "`": "\u02cb", // ˋ modifier letter grave accent
  "\uff0a": "\ufe61", // full-width asterisk → ﹡ small asterisk
  "\uff3f": "\u2e0f", // full-width low line → ⸏ paragraphos
  "\uff40": "\u02cb", // full-width grave accent → ˋ
};
const wordChar = /[A-Za-z0-9]/;

/**
 * Makes user text show as typed in mrkdwn: "<!channel>" or "<https://evil|bank>" does not ping a channel
 * or hide a link (`&`, `<`, `>` become entities, as Slack asks), and "*APPROVED*", "_x_", "~x~", "`x`" or a
 * line starting with ">" does not bold, italicise, strike, set code or quote. `*`, `_` and `~` between two
 * ASCII letters or digits stay, since Slack never formats inside a word: "first_last@example.com" and a
 * login "jit_a__b" are unchanged.
 */
export function escapeMrkdwn(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/[*_~]+/g, (run: string, at: number, all: string) =>
      wordChar.test(all[at - 1] ?? "") && wordChar.test(all[at + run.length] ?? "")
        ? run
        : run.replace(/./g, (c) => lookAlikes[c] as string),
    )
    .replace(/[`\uff0a\uff3f\uff40]/g, (c) => lookAlikes[c] as string)
    .replace(/^([ \t]*)(?:&gt;|\uff1e)/gm, "$1\u203a"); // a quote's ">" (or full-width "＞") → "›"
}

/** A date Slack shows in the reader's own time zone, with a UTC fallback for clients that cannot. */
export function slackDate(ms: number): string {
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} at {time}|${fallback}>`;
}
