// The Sprout public HTTP API, as the parent app uses it. Every call carries the
// parent's bearer token; errors arrive as {"error":{"code","message"}}.

export type Chronotype = 'early_bird' | 'intermediate' | 'night_owl';

export interface Child {
  id: string;
  display_name: string;
  birth_date: string;
  timezone: string;
  chronotype: Chronotype | null;
  preferred_interventions?: string[];
  created_at: string;
}

export interface Insufficient {
  status: 'insufficient_data';
  reason?: string;
}

export interface StressForecast {
  model?: string;
  level?: number;
  times: string[];
  mean: number[];
  lower: number[];
  upper: number[];
  events?: { event_type: string; start: string; title?: string }[];
}

export interface Interval<T> {
  mean: T;
  lower: T;
  upper: T;
}

export interface SleepNight {
  date: string;
  before_free_day?: boolean;
  duration_hours: Interval<number>;
  bedtime: Interval<string>;
}

export interface SleepForecast {
  level?: number;
  nights: SleepNight[];
}

export interface Forecast {
  child_id: string;
  generated_at: string;
  hours: number;
  stress: StressForecast | Insufficient;
  sleep: SleepForecast | Insufficient;
}

export interface Window {
  start: string;
  end: string;
}

export interface ChronotypeReport {
  status: 'ok' | 'insufficient_data';
  chronotype: Chronotype | null;
  fine_type?: string | null;
  msf_sc_hours?: number | null;
  social_jetlag_hours?: number | null;
  confidence?: number | null;
  nights_used?: number;
  best_windows?: Record<string, Window> | null;
  reason?: string;
}

export type EffectStatus = 'insufficient_data' | 'inconclusive' | 'beneficial' | 'harmful';

export type Evidence = 'no_effect' | 'unchecked' | 'checks_failed' | 'strong';

export interface Effect {
  kind: string;
  status: EffectStatus;
  /** What Sprout's checks say about an established effect. */
  evidence?: Evidence;
  effect?: number | null;
  ci?: [number, number] | null;
  relative_effect?: number | null;
  relative_ci?: [number, number] | null;
  treated_days?: number;
  control_days?: number;
  interpretation?: string;
  outcome?: string;
}

export interface Bucket {
  start: string;
  end: string;
  samples: number;
  stress_level: { mean: number | null; min: number | null; max: number | null; count: number };
  asleep_samples: number;
}

export interface SchoolEvent {
  id: string;
  event_type: string;
  start: string;
  end?: string | null;
  title?: string | null;
}

export interface Recommendation {
  id: string;
  child_id: string;
  created_at: string;
  recommendation: string;
  causal_insight?: string | null;
  forecast?: { stress?: unknown[]; sleep?: unknown[] } | null;
  personalization?: { chronotype?: string | null; preferred_time?: string | null } | null;
  model_version?: string | null;
  arm?: string | null;
  feedback?: { was_helpful: boolean } | null;
  /** Why this action was chosen, in plain words. */
  reasons?: string[] | null;
  action?: { kind?: string; slot?: string; start?: string } | null;
  /** What the text may say: the event it names, as [name, day], and its time. */
  facts?: { next_test?: [string, string] | null; next_test_time?: string | null } | null;
}

/** How the family reads clock times. */
export type Clock = '12h' | '24h';

export interface Page<T> {
  items: T[];
  next: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** The route itself does not exist on this server yet (not a missing child). */
  get routeMissing(): boolean {
    return (
      this.status === 404 &&
      (this.code === 'not_found' || this.code === '') &&
      /route/i.test(this.message)
    ) || this.status === 405;
  }
}

const TOKEN_KEY = 'sprout.token';
const EXPIRES_KEY = 'sprout.expires_at';

export function storedToken(): string | null {
  const token = localStorage.getItem(TOKEN_KEY);
  const expires = localStorage.getItem(EXPIRES_KEY);
  if (token && expires && Date.parse(expires) < Date.now()) {
    clearToken();
    return null;
  }
  return token;
}

export function clearToken(): void {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(EXPIRES_KEY);
}

/** Called when any call answers 401: the session is over. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

async function request<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = storedToken();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(`api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'Sprout cannot be reached. Check the connection and try again.');
  }
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    const error = new ApiError(
      response.status,
      err?.code ?? '',
      err?.message ?? `${response.status} ${response.statusText}`,
    );
    if (response.status === 401 && auth) onUnauthorized();
    throw error;
  }
  return data as T;
}

export async function login(email: string, password: string): Promise<void> {
  const result = await request<{ token: string; expires_at: string }>(
    'POST',
    '/auth/login',
    { email, password },
    false,
  );
  localStorage.setItem(TOKEN_KEY, result.token);
  if (result.expires_at) localStorage.setItem(EXPIRES_KEY, result.expires_at);
}

const enc = encodeURIComponent;

export const api = {
  children: () => request<Child[]>('GET', '/children'),
  familySettings: () => request<{ clock: Clock }>('GET', '/family/settings'),
  setClock: (clock: Clock) => request<{ clock: Clock }>('PUT', '/family/settings', { clock }),
  forecast: (id: string, hours = 24) =>
    request<Forecast>('GET', `/children/${enc(id)}/forecast?hours=${hours}`),
  chronotype: (id: string) => request<ChronotypeReport>('GET', `/children/${enc(id)}/chronotype`),
  causal: (id: string) =>
    request<{ effects: Effect[] }>('GET', `/children/${enc(id)}/insights/causal`),
  metrics: (id: string, from: Date, to: Date, limit = 48) =>
    request<Page<Bucket>>(
      'GET',
      `/children/${enc(id)}/metrics?resolution=hour&from=${enc(from.toISOString())}&to=${enc(
        to.toISOString(),
      )}&limit=${limit}`,
    ),
  events: (id: string, from: Date, to: Date) =>
    request<Page<SchoolEvent>>(
      'GET',
      `/children/${enc(id)}/events?from=${enc(from.toISOString())}&to=${enc(to.toISOString())}`,
    ),
  recommendation: (id: string) =>
    request<Recommendation>('GET', `/children/${enc(id)}/recommendation`),
  recommendations: (id: string, limit = 20) =>
    request<Page<Recommendation>>('GET', `/children/${enc(id)}/recommendations?limit=${limit}`),
  feedback: (recommendationId: string, childId: string, wasHelpful: boolean) =>
    request<{ recommendation_id: string; was_helpful: boolean; updated_at: string }>(
      'POST',
      '/feedback',
      { recommendation_id: recommendationId, child_id: childId, was_helpful: wasHelpful },
    ),
};

export function isInsufficient(value: unknown): value is Insufficient {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { status?: string }).status === 'insufficient_data'
  );
}
