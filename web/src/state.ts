// How a child is right now, from the last hour's roll-up: mean stress and sleep.

import { api, type Bucket, type Child } from './api';
import type { Mood } from './avatar';

/** Stress (0–1) below which a child is calm, and below which only a bit tense. */
export const CALM_BELOW = 0.4;
export const TENSE_BELOW = 0.6;

export interface CurrentState {
  mood: Mood;
  stress: number | null;
  at: string | null;
}

/** The hour of the day (0–23) at `date` on the child's own clock. */
export function localHour(date: Date, timezone: string): number {
  try {
    const text = new Intl.DateTimeFormat('en-GB', {
      hour: '2-digit',
      hourCycle: 'h23',
      timeZone: timezone,
    }).format(date);
    return Number.parseInt(text, 10) % 24;
  } catch {
    return date.getHours();
  }
}

export function moodOf(bucket: Bucket | undefined, timezone: string): CurrentState {
  if (!bucket) return { mood: 'unknown', stress: null, at: null };
  const hour = localHour(new Date(bucket.start), timezone);
  const night = hour >= 19 || hour < 9;
  const stress = bucket.stress_level?.mean ?? null;
  if (night && bucket.samples > 0 && bucket.asleep_samples * 2 > bucket.samples) {
    return { mood: 'asleep', stress, at: bucket.start };
  }
  if (stress === null) return { mood: 'unknown', stress, at: bucket.start };
  const mood: Mood = stress < CALM_BELOW ? 'calm' : stress < TENSE_BELOW ? 'tense' : 'stressed';
  return { mood, stress, at: bucket.start };
}

/** The child's state from the latest hour with readings in the last three hours. */
export async function currentState(child: Child): Promise<CurrentState> {
  const to = new Date();
  const from = new Date(to.getTime() - 3 * 3600_000);
  try {
    const page = await api.metrics(child.id, from, to, 10);
    const withData = page.items.filter((b) => b.samples > 0);
    return moodOf(withData[withData.length - 1], child.timezone);
  } catch {
    return { mood: 'unknown', stress: null, at: null };
  }
}
