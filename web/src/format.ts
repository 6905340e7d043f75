// Words, times and numbers as a parent reads them, on the child's own clock.

export function formatTime(date: Date, timezone: string): string {
  try {
    return new Intl.DateTimeFormat('en-GB', {
      hour: 'numeric',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZone: timezone,
    }).format(date);
  } catch {
    return `${date.getHours()}:${String(date.getMinutes()).padStart(2, '0')}`;
  }
}

/** "08:46:00" → "08:46" */
export function clockTime(text: string): string {
  const m = /^(\d{1,2}):(\d{2})/.exec(text);
  return m ? `${m[1]}:${m[2]}` : text;
}

export function formatDay(date: Date, timezone: string): string {
  try {
    return new Intl.DateTimeFormat(undefined, {
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      timeZone: timezone,
    }).format(date);
  } catch {
    return date.toDateString();
  }
}

export function formatDateTime(date: Date, timezone?: string): string {
  try {
    return new Intl.DateTimeFormat(undefined, {
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      hour: 'numeric',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZone: timezone,
    }).format(date);
  } catch {
    return date.toLocaleString();
  }
}

/** A calendar date ("2026-03-01") as "Sun 1 Mar", without a time-zone shift. */
export function formatDate(isoDate: string): string {
  const [y, m, d] = isoDate.split('-').map(Number);
  if (!y || !m || !d) return isoDate;
  return formatDay(new Date(Date.UTC(y, m - 1, d, 12)), 'UTC');
}

export function humanize(code: string): string {
  const text = code.replace(/[_-]+/g, ' ').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "math test 9:00" */
export function eventLabel(
  eventType: string,
  start: string,
  timezone: string,
  title?: string | null,
): string {
  const name = title || eventType.replace(/[_-]+/g, ' ');
  return `${name} ${formatTime(new Date(start), timezone)}`;
}

export function hoursText(hours: number): string {
  const h = Math.floor(hours);
  const m = Math.round((hours - h) * 60);
  if (m === 60) return `${h + 1} h`;
  return m ? `${h} h ${String(m).padStart(2, '0')}` : `${h} h`;
}

/** A stress level (0–1) as parents read it: "86 of 100" (a level, not a change). */
export function level(value: number): string {
  return `${Math.round(value * 100)} of 100`;
}

/** A relative change or share (0–1) as a percentage: "16%". */
export function percent(value: number): string {
  return `${Math.round(Math.abs(value) * 100)}%`;
}

export function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase())
    .slice(0, 2)
    .join('');
}
