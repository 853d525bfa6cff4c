// Parses and formats durations: "30s", "90m", "1h", "1d", or a number of seconds.

const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const pattern = /^(\d{1,12})\s*([smhdw])$/;
// The bound the digits-only form already had (about 31,700 years): now + a duration stays a valid
// Date and an exact number of milliseconds, in every unit and as a number.
const maxSeconds = 999_999_999_999;

/** Seconds in a duration, or undefined when it is not one. */
export function parseDuration(input: unknown): number | undefined {
  if (typeof input === "number") {
    return Number.isSafeInteger(input) && input > 0 && input <= maxSeconds ? input : undefined;
  }
  if (typeof input !== "string") return undefined;
  const text = input.trim().toLowerCase();
  if (/^\d{1,12}$/.test(text)) {
    const n = Number(text);
    return n > 0 ? n : undefined;
  }
  const match = pattern.exec(text);
  if (!match) return undefined;
  const seconds = Number(match[1]) * (units[match[2] as string] as number);
  return seconds > 0 && seconds <= maxSeconds ? seconds : undefined;
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
