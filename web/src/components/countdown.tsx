// Time left on a grant, ticking every second, with the end time in the viewer's zone.

import { formatCountdown, formatFull, formatRelative, formatWhen } from "../format.ts";
import { useNow } from "../use-now.ts";

export function Countdown({ expiresAt }: { expiresAt: string }) {
  const now = useNow(1000);
  const left = Date.parse(expiresAt) - now;
  const end = (
    <time dateTime={expiresAt} title={formatFull(expiresAt)}>
      {formatWhen(expiresAt, now)}
    </time>
  );
  if (left <= 0)
    return <span className="countdown countdown-over">Time is up; access is being removed ({end})</span>;
  return (
    <span className="countdown">
      <span className="countdown-clock" role="timer" aria-live="off">
        {formatCountdown(left)}
      </span>{" "}
      left · ends {end} ({formatRelative(expiresAt, now)})
    </span>
  );
}
