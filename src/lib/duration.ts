// Parses and formats durations: "30s", "90m", "1h", "1d", "1w", or a number of seconds.

const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
// Upper case is read like lower case except "M": to many people "1M" is a month, so it is refused (see
// durationProblem) rather than silently granting one minute, or thirty days.
const pattern = /^(\d{1,12})\s*([smhdwSHDW])$/;
const months = /^(\d{1,12})\s*M$/;
// The bound the digits-only form already had (about 31,700 years): now + a duration stays a valid
// Date and an exact number of milliseconds, in every unit and as a number.
const maxSeconds = 999_999_999_999;

/** Seconds in a duration, or undefined when it is not one (durationProblem says why). */
export function parseDuration(input: unknown): number | undefined {
  if (typeof input === "number") {
    return Number.isSafeInteger(input) && input > 0 && input <= maxSeconds ? input : undefined;
  }
  if (typeof input !== "string") return undefined;
  const text = input.trim();
  if (/^\d{1,12}$/.test(text)) {
    const n = Number(text);
    return n > 0 ? n : undefined;
  }
  const match = pattern.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[1]) * (units[(match[2] as string).toLowerCase()] as number);
  return seconds > 0 && seconds <= maxSeconds ? seconds : undefined;
}

/**
 * What to tell someone whose `input` parseDuration refused: the forms it takes, or, for "1M", why that
 * one is refused and what to write instead.
 */
export function durationProblem(input: unknown): string {
  const shown = JSON.stringify(input) ?? String(input);
  const month = typeof input === "string" ? months.exec(input.trim()) : null;
  if (month) {
    return `${shown} is not a duration: "M" could mean months or minutes; write "${month[1]}m" for minutes or "30d" for a month`;
  }
  return `${shown} is not a duration; use "30s", "90m", "1h", "1d" or a number of seconds`;
}

/** The shortest exact form: 3600 → "1h", 5400 → "90m", 61 → "61s". */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [
    ["w", 604800],
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** "1h 30m" for 5400 seconds. */
export function humanDuration(seconds: number): string {
  if (seconds <= 0) return "0s";
  const parts: string[] = [];
  const units: [number, string][] = [
    [86400, "d"],
    [3600, "h"],
    [60, "m"],
    [1, "s"],
  ];
  let rest = seconds;
  for (const [size, unit] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join(" ");
}
