// Text from the server, a database or the command line, made safe to print on a terminal.

/**
 * Characters a terminal acts on instead of showing: C0 and C1 controls and DEL (escape sequences
 * retitle the window, clear the screen, move the cursor; CR and backspace overwrite what was printed),
 * and the Unicode controls that reorder or break lines (bidi marks, overrides and isolates, the line and
 * paragraph separators).
 */
function acts(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

const short: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escaped(ch: string): string {
  return short[ch] ?? `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`;
}

/**
 * One line of text with every such character shown as an escape (`\u001b`, `\r`, `\n`) instead of
 * acting, so that someone reading it sees that something was there. Other text is unchanged.
 */
export function oneLine(value: unknown): string {
  let out = "";
  for (const ch of String(value)) out += acts(ch.codePointAt(0) ?? 0) ? escaped(ch) : ch;
  return out;
}

/** Text that may have several lines: each line made safe like oneLine; where they go is the caller's. */
export function safeLines(value: unknown): string[] {
  return String(value).split("\n").map(oneLine);
}
