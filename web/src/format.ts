// Words, times and numbers as a parent reads them, on the child's own clock.

/** How the family reads clock times; the server writes the card's text the same way. */
let clock: '12h' | '24h' = '12h';

export function setClock(value: '12h' | '24h'): void {
  clock = value;
}

export function currentClock(): '12h' | '24h' {
  return clock;
}

/** Hours and minutes as the family reads them: "7 PM", "7:30 PM" or "19:00", "19:30"
 * (the same rule as the card's text). */
export function clockOf(hours: number, minutes: number): string {
  const mm = String(minutes).padStart(2, '0');
  if (clock === '24h') return `${String(hours).padStart(2, '0')}:${mm}`;
  const suffix = hours >= 12 ? 'PM' : 'AM';
  const h12 = hours % 12 === 0 ? 12 : hours % 12;
  return minutes === 0 ? `${h12} ${suffix}` : `${h12}:${mm} ${suffix}`;
}

/** The wall clock's hours and minutes of an instant in a time zone. */
function wallClock(date: Date, timezone?: string): [number, number] {
  try {
    const parts = new Intl.DateTimeFormat('en-GB', {
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
      timeZone: timezone,
    }).formatToParts(date);
    const part = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
    return [part('hour'), part('minute')];
  } catch {
    return [date.getHours(), date.getMinutes()];
  }
}

export function formatTime(date: Date, timezone: string): string {
  return clockOf(...wallClock(date, timezone));
}

/** "08:46:00" → "8:46 AM" or "08:46", as the family reads times. */
export function clockTime(text: string): string {
  const m = /^(\d{1,2}):(\d{2})/.exec(text);
  return m ? clockOf(Number(m[1]), Number(m[2])) : text;
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
    const day = new Intl.DateTimeFormat(undefined, {
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      timeZone: timezone,
    }).format(date);
    return `${day}, ${clockOf(...wallClock(date, timezone))}`;
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
