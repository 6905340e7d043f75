import './styles.css';
import {
  api,
  ApiError,
  clearToken,
  isInsufficient,
  login,
  setUnauthorizedHandler,
  storedToken,
  type Child,
  type Chronotype,
  type Clock,
  type Effect,
  type Recommendation,
  type SleepForecast,
  type StressForecast,
} from './api';
import { avatarSvg, CHRONOTYPE_LABEL, MOOD_LABEL } from './avatar';
import { stressChart, type StressChart } from './chart';
import { clear, h, svg } from './dom';
import {
  clockTime,
  currentClock,
  eventLabel,
  formatDate,
  formatDateTime,
  formatTime,
  hoursText,
  humanize,
  level,
  percent,
  setClock,
} from './format';
import { Live, type LiveEvent, type LiveStatus } from './live';
import { currentState, type CurrentState } from './state';

// ---------------------------------------------------------------------------------
// State

interface ChildInfo {
  child: Child;
  chronotype: Chronotype | null;
  state: CurrentState;
}

const app = {
  children: null as ChildInfo[] | null,
  chart: null as StressChart | null,
  live: null as Live | null,
  liveStatus: 'offline' as LiveStatus,
  route: { name: 'home' } as Route,
  renderToken: 0,
  /** Child whose current recommendation the Today page is asking for right now. */
  loadingRecommendation: null as string | null,
  /** The recommendation the Today page shows: the events it names go under the chart. */
  shownRecommendation: null as Recommendation | null,
};

type Route =
  | { name: 'login' }
  | { name: 'home' }
  | { name: 'today' | 'insights' | 'history'; childId: string };

const main = document.getElementById('main') as HTMLElement;
const topbar = document.getElementById('topbar') as HTMLElement;
const tabs = document.getElementById('tabs') as HTMLElement;
const toasts = document.getElementById('toasts') as HTMLElement;
const alerts = document.getElementById('alerts') as HTMLElement;

// ---------------------------------------------------------------------------------
// Routing

function parseRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const parts = hash.split('/').filter(Boolean).map(decodeURIComponent);
  if (!storedToken()) return { name: 'login' };
  if (parts[0] === 'login') return { name: 'login' };
  if (parts[0] === 'child' && parts[1]) {
    const view = parts[2];
    if (view === 'insights' || view === 'history') return { name: view, childId: parts[1] };
    return { name: 'today', childId: parts[1] };
  }
  return { name: 'home' };
}

export function go(path: string): void {
  if (location.hash === `#${path}`) void render();
  else location.hash = path;
}

const childPath = (id: string, view?: string) =>
  `/child/${encodeURIComponent(id)}${view ? `/${view}` : ''}`;

// ---------------------------------------------------------------------------------
// Children: list, chronotype (computed on demand) and current state

async function loadChildren(force = false): Promise<ChildInfo[]> {
  if (app.children && !force) return app.children;
  const [children, settings] = await Promise.all([
    api.children(),
    api.familySettings().catch(() => null),
  ]);
  if (settings) setClock(settings.clock);
  const infos = await Promise.all(
    children.map(async (child): Promise<ChildInfo> => {
      const [chronotype, state] = await Promise.all([
        child.chronotype
          ? Promise.resolve(child.chronotype)
          : api
              .chronotype(child.id)
              .then((r) => (r.status === 'ok' ? r.chronotype : null))
              .catch(() => null),
        currentState(child),
      ]);
      return { child, chronotype, state };
    }),
  );
  app.children = infos;
  return infos;
}

function childInfo(id: string): ChildInfo | undefined {
  return app.children?.find((c) => c.child.id === id);
}

function avatarFor(info: ChildInfo, size: number, decorative = false): Element {
  const type = CHRONOTYPE_LABEL[info.chronotype ?? 'unknown'];
  const label = decorative ? '' : `${info.child.display_name}: ${type}, ${MOOD_LABEL[info.state.mood]}`;
  return svg(avatarSvg(info.chronotype, info.state.mood, label, size));
}

// ---------------------------------------------------------------------------------
// Shell: top bar, tabs, toasts

function renderShell(route: Route): void {
  clear(topbar);
  clear(tabs);
  const loggedIn = route.name !== 'login';
  document.body.classList.toggle('logged-out', !loggedIn);
  const brand = h(
    'a',
    { class: 'brand', href: loggedIn ? '#/' : '#/login' },
    svg(
      '<svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true"><circle cx="16" cy="16" r="16" fill="#1F6F4A"/><path d="M16 25v-9" stroke="#fff" stroke-width="2.4" stroke-linecap="round"/><path d="M16 17c0-5 3-8 8-9 0 5-3 8-8 9z" fill="#BDEBD2"/><path d="M16 17c0-4-3-6-7-7 0 4 3 6 7 7z" fill="#fff"/></svg>',
    ),
    h('span', {}, 'Sprout'),
  );
  topbar.append(brand);
  if (!loggedIn) return;

  const right = h('div', { class: 'topbar-right' });
  const status = h(
    'span',
    {
      class: `live-status live-${app.liveStatus}`,
      id: 'live-status',
      title: liveStatusText(app.liveStatus),
    },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    h('span', { class: 'live-text' }, liveStatusText(app.liveStatus)),
  );
  right.append(status);
  const clockChoice = h(
    'select',
    {
      id: 'clock',
      class: 'clock-choice',
      'aria-label': 'Clock format',
      title: 'Clock format',
      onchange: (ev: Event) => void chooseClock((ev.target as HTMLSelectElement).value as Clock),
    },
    h('option', { value: '12h' }, '7:30 PM'),
    h('option', { value: '24h' }, '19:30'),
  ) as HTMLSelectElement;
  clockChoice.value = currentClock();
  right.append(clockChoice);
  right.append(
    h(
      'button',
      {
        type: 'button',
        class: 'button-quiet',
        id: 'logout',
        onclick: () => logout(),
      },
      'Log out',
    ),
  );
  topbar.append(right);

  if (route.name === 'today' || route.name === 'insights' || route.name === 'history') {
    const info = childInfo(route.childId);
    const nav = h('ul', { class: 'tab-list' });
    const items: [string, string, Route['name']][] = [
      ['Today', childPath(route.childId), 'today'],
      ['Insights', childPath(route.childId, 'insights'), 'insights'],
      ['History', childPath(route.childId, 'history'), 'history'],
    ];
    for (const [label, path, name] of items) {
      nav.append(
        h(
          'li',
          {},
          h(
            'a',
            { href: `#${path}`, 'aria-current': route.name === name ? 'page' : null },
            label,
          ),
        ),
      );
    }
    const switcher = h(
      'a',
      {
        class: 'child-switch',
        href: '#/',
        'aria-label': info ? `${info.child.display_name}: switch child` : 'Switch child',
      },
      info ? avatarFor(info, 28, true) : null,
      h('span', { class: 'child-switch-name' }, info?.child.display_name ?? 'Children'),
      h('span', { class: 'child-switch-hint', 'aria-hidden': 'true' }, '⇄'),
    );
    tabs.append(h('div', { class: 'tabs-inner' }, switcher, nav));
    tabs.hidden = false;
  } else {
    tabs.hidden = true;
  }
}

/** The family's clock format: saved for the family, so the card's text (rewritten by
 * the server and pushed) and every time on screen read alike. */
async function chooseClock(clock: Clock): Promise<void> {
  try {
    await api.setClock(clock);
    setClock(clock);
    await render();
  } catch (err) {
    toast(`Not saved: ${errorText(err)}`, 'alert');
  }
}

function liveStatusText(status: LiveStatus): string {
  switch (status) {
    case 'open':
      return 'Live';
    case 'connecting':
      return 'Connecting…';
    default:
      return 'Offline';
  }
}

function setLiveStatus(status: LiveStatus): void {
  app.liveStatus = status;
  const el = document.getElementById('live-status');
  if (!el) return;
  el.className = `live-status live-${status}`;
  el.title = liveStatusText(status);
  const text = el.querySelector('.live-text');
  if (text) text.textContent = liveStatusText(status);
  document.body.dataset.live = status;
}

function toast(message: string, kind: 'info' | 'alert' = 'info'): void {
  const region = kind === 'alert' ? alerts : toasts;
  const item = h(
    'div',
    { class: `toast toast-${kind}` },
    h('span', {}, message),
    h(
      'button',
      {
        type: 'button',
        class: 'toast-close',
        'aria-label': 'Dismiss',
        onclick: () => item.remove(),
      },
      '×',
    ),
  );
  region.append(item);
  window.setTimeout(() => item.remove(), kind === 'alert' ? 15_000 : 8_000);
}

// ---------------------------------------------------------------------------------
// Views

function section(title: string, id: string, ...content: (Node | null)[]): HTMLElement {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, title),
    ...content,
  );
}

function notice(text: string, kind: 'empty' | 'pending' | 'error' = 'empty'): HTMLElement {
  return h('p', { class: `notice notice-${kind}` }, text);
}

function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return 'Something went wrong. Please try again.';
}

function renderLogin(): void {
  const error = h('p', { class: 'form-error', id: 'login-error', role: 'alert' });
  const email = h('input', {
    id: 'email',
    name: 'email',
    type: 'email',
    autocomplete: 'username',
    required: true,
    'aria-describedby': 'login-error',
  });
  const password = h('input', {
    id: 'password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    'aria-describedby': 'login-error',
  });
  const submit = h('button', { type: 'submit', class: 'button-primary' }, 'Log in');
  const form = h(
    'form',
    { class: 'login-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'email' }, 'Email'), email),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
    error,
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    email.removeAttribute('aria-invalid');
    password.removeAttribute('aria-invalid');
    if (!email.value.trim() || !password.value) {
      error.textContent = 'Enter your email and password.';
      (email.value.trim() ? password : email).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    try {
      await login(email.value.trim(), password.value);
      app.children = null;
      startLive();
      go('/');
    } catch (err) {
      error.textContent =
        err instanceof ApiError && (err.status === 401 || err.status === 403)
          ? 'That email and password do not match. Please try again.'
          : errorText(err);
      password.setAttribute('aria-invalid', 'true');
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Log in';
    }
  });
  main.append(
    h(
      'div',
      { class: 'login' },
      h(
        'div',
        { class: 'login-hero', 'aria-hidden': 'true' },
        svg(avatarSvg('early_bird', 'calm', '', 72)),
        svg(avatarSvg(null, 'calm', '', 72)),
        svg(avatarSvg('night_owl', 'asleep', '', 72)),
      ),
      h('h1', {}, 'Welcome to Sprout'),
      h('p', { class: 'lead' }, 'See how your child is doing today, and what helps.'),
      form,
    ),
  );
}

async function renderHome(token: number): Promise<void> {
  main.append(h('h1', {}, 'Your children'), h('p', { class: 'loading' }, 'Loading…'));
  const children = await loadChildren(true);
  if (token !== app.renderToken) return;
  clear(main);
  main.append(h('h1', {}, 'Your children'));
  if (!children.length) {
    main.append(notice('No children yet. Add a child through the Sprout API to get started.'));
    return;
  }
  const list = h('ul', { class: 'children', 'aria-label': 'Children' });
  for (const info of children) {
    const type = CHRONOTYPE_LABEL[info.chronotype ?? 'unknown'];
    list.append(
      h(
        'li',
        { 'data-child-id': info.child.id },
        h(
          'a',
          { class: 'child-card', href: `#${childPath(info.child.id)}` },
          avatarFor(info, 88, true),
          h(
            'span',
            { class: 'child-card-text' },
            h('span', { class: 'child-name' }, info.child.display_name),
            h('span', { class: 'child-meta' }, `${type} · ${MOOD_LABEL[info.state.mood]}`),
          ),
        ),
      ),
    );
  }
  main.append(list);
}

async function renderToday(childId: string, token: number): Promise<void> {
  await loadChildren();
  const info = childInfo(childId);
  if (token !== app.renderToken) return;
  if (!info) {
    main.append(h('h1', {}, 'Child not found'), notice('This child is not in your family.'));
    return;
  }
  renderShell(app.route);
  const { child } = info;

  const hero = h('section', { class: 'hero card', 'aria-labelledby': 'child-name' });
  const heroAvatar = h('div', { class: 'hero-avatar' }, avatarFor(info, 132));
  const stateLine = h('p', { class: 'hero-state', id: 'child-state' });
  const windows = h('ul', { class: 'windows', 'aria-label': 'Best times of the day' });
  const fillHero = () => {
    heroAvatar.replaceChildren(avatarFor(info, 132));
    stateLine.textContent = heroLine(info);
  };
  fillHero();
  hero.append(
    heroAvatar,
    h('div', { class: 'hero-text' }, h('h1', { id: 'child-name' }, child.display_name), stateLine),
    windows,
  );

  const recCard = section('Today’s recommendation', 'rec-title');
  recCard.id = 'recommendation';
  recCard.append(h('p', { class: 'loading' }, 'Loading…'));

  const forecastCard = section('Next 24 hours', 'forecast-title');
  forecastCard.id = 'forecast';
  forecastCard.append(h('p', { class: 'loading' }, 'Loading…'));

  const sleepCard = section('Next nights', 'sleep-title');
  sleepCard.id = 'sleep';
  sleepCard.append(h('p', { class: 'loading' }, 'Loading…'));

  main.append(
    h(
      'div',
      { class: 'today-grid' },
      h('div', { class: 'col' }, hero, recCard),
      h('div', { class: 'col' }, forecastCard, sleepCard),
    ),
  );

  const stale = () => token !== app.renderToken;

  // Best windows from the chronotype.
  void api
    .chronotype(childId)
    .then((report) => {
      if (stale() || !report.best_windows) return;
      if (report.status === 'ok' && report.chronotype && report.chronotype !== info.chronotype) {
        info.chronotype = report.chronotype;
        fillHero();
      }
      // A weekend rhythm far from the school-night one (social jet lag) is worth saying:
      // an hour or more is where it tends to tell on Monday mornings.
      const jetlag = report.social_jetlag_hours;
      if (typeof jetlag === 'number' && Math.abs(jetlag) >= SOCIAL_JETLAG_SHOWN_H) {
        windows.append(
          h(
            'li',
            { class: 'jetlag' },
            h('span', { class: 'window-name' }, 'Weekend shift'),
            ` sleep is ${hoursText(Math.abs(jetlag))} ${jetlag > 0 ? 'later' : 'earlier'} on free days than on school nights (social jet lag)`,
          ),
        );
      }
      const names: Record<string, string> = { focus: 'Focus', calm: 'Calm', active: 'Active', sleep: 'Sleep' };
      for (const [name, w] of Object.entries(report.best_windows)) {
        if (typeof w !== 'object' || !w?.start) continue;
        windows.append(
          h(
            'li',
            {},
            h('span', { class: 'window-name' }, `Best for ${(names[name] ?? humanize(name)).toLowerCase()}`),
            ` ${clockTime(w.start)}–${clockTime(w.end)}`,
          ),
        );
      }
    })
    .catch(() => {});

  // Recommendation. Asking may make the server write a new one, which it also announces
  // on the live channel: that announcement is about this very answer.
  app.loadingRecommendation = childId;
  void api
    .recommendation(childId)
    .finally(() => {
      if (app.loadingRecommendation === childId) app.loadingRecommendation = null;
    })
    .then((rec) => {
      if (!stale()) fillRecommendation(recCard, rec, info);
    })
    .catch((err) => {
      if (stale()) return;
      recCard.querySelector('.loading')?.remove();
      recCard.querySelector('.notice')?.remove();
      if (err instanceof ApiError && err.routeMissing) {
        recCard.append(
          notice('Recommendations are not available yet on this Sprout server.', 'pending'),
        );
        recCard.dataset.state = 'unavailable';
      } else if (err instanceof ApiError && err.status === 404) {
        recCard.append(notice('No recommendation yet. It appears here as soon as there is one.'));
        recCard.dataset.state = 'empty';
      } else {
        recCard.append(notice(errorText(err), 'error'));
      }
    });

  // Forecast.
  try {
    const forecast = await api.forecast(childId, 24);
    if (stale()) return;
    fillForecast(forecastCard, forecast.stress, child.timezone);
    fillSleep(sleepCard, forecast.sleep);
  } catch (err) {
    if (stale()) return;
    forecastCard.querySelector('.loading')?.replaceWith(notice(errorText(err), 'error'));
    sleepCard.querySelector('.loading')?.replaceWith(notice(errorText(err), 'error'));
  }
}

// 👍 and 👎 drawn as icons: emoji fonts are missing on some systems.
const THUMB_UP =
  '<svg class="thumb thumb-up" viewBox="0 0 24 24" width="26" height="26" aria-hidden="true" focusable="false"><path d="M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3" stroke-linejoin="round" stroke-linecap="round"/></svg>';
const THUMB_DOWN =
  '<svg class="thumb thumb-down" viewBox="0 0 24 24" width="26" height="26" aria-hidden="true" focusable="false"><path d="M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3zm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17" stroke-linejoin="round" stroke-linecap="round"/></svg>';

/** Social jet lag from this many hours on is shown. */
const SOCIAL_JETLAG_SHOWN_H = 1;

function heroLine(info: ChildInfo): string {
  const type = CHRONOTYPE_LABEL[info.chronotype ?? 'unknown'];
  const stress =
    info.state.stress !== null && info.state.mood !== 'asleep'
      ? ` (stress ${level(info.state.stress)})`
      : '';
  return info.state.mood === 'unknown'
    ? `${type} · no readings in the last hours`
    : `${type} · ${MOOD_LABEL[info.state.mood]} right now${stress}`;
}

function fillRecommendation(card: HTMLElement, rec: Recommendation, info: ChildInfo): void {
  card.querySelectorAll('.loading, .notice, .rec').forEach((el) => el.remove());
  card.dataset.state = 'ready';
  card.dataset.recommendationId = rec.id;
  app.shownRecommendation = rec;
  const chosen = rec.feedback ? rec.feedback.was_helpful : null;
  const status = h('p', { class: 'feedback-status', 'aria-live': 'polite' });
  const up = h(
    'button',
    {
      type: 'button',
      class: 'feedback-button',
      'data-helpful': 'true',
      'aria-label': 'This was helpful',
      'aria-pressed': String(chosen === true),
      title: 'This was helpful',
    },
    svg(THUMB_UP),
  );
  const down = h(
    'button',
    {
      type: 'button',
      class: 'feedback-button',
      'data-helpful': 'false',
      'aria-label': 'This was not helpful',
      'aria-pressed': String(chosen === false),
      title: 'This was not helpful',
    },
    svg(THUMB_DOWN),
  );
  const setChosen = (value: boolean | null) => {
    up.setAttribute('aria-pressed', String(value === true));
    down.setAttribute('aria-pressed', String(value === false));
  };
  let current = chosen;
  const answer = async (helpful: boolean) => {
    if (current === helpful) return;
    const before = current;
    current = helpful;
    setChosen(helpful);
    status.textContent = 'Saving…';
    try {
      await api.feedback(rec.id, rec.child_id || info.child.id, helpful);
      status.textContent = helpful ? 'Thanks! Saved as helpful.' : 'Thanks! Saved as not helpful.';
    } catch (err) {
      current = before;
      setChosen(before);
      status.textContent =
        err instanceof ApiError && err.routeMissing
          ? 'Feedback is not available yet on this Sprout server.'
          : `Not saved: ${errorText(err)}`;
    }
  };
  up.addEventListener('click', () => void answer(true));
  down.addEventListener('click', () => void answer(false));

  const meta: string[] = [];
  if (rec.personalization?.preferred_time) meta.push(`Best time ${clockTime(rec.personalization.preferred_time)}`);
  meta.push(`written ${formatDateTime(new Date(rec.created_at), info.child.timezone)}`);
  card.append(
    h(
      'div',
      { class: 'rec', 'data-recommendation-id': rec.id },
      h('p', { class: 'rec-text' }, rec.recommendation),
      rec.causal_insight ? h('p', { class: 'rec-insight' }, rec.causal_insight) : null,
      h(
        'details',
        { class: 'rec-reasons' },
        h('summary', {}, 'Why this?'),
        h(
          'ul',
          {},
          (rec.reasons ?? []).map((r) => h('li', {}, r)),
          h('li', { class: 'rec-version' }, versionText(rec)),
        ),
      ),
      h('p', { class: 'rec-meta' }, meta.join(' · ')),
      h(
        'div',
        { class: 'feedback', role: 'group', 'aria-label': 'Was this recommendation helpful?' },
        h('span', { class: 'feedback-question', 'aria-hidden': 'true' }, 'Was this helpful?'),
        up,
        down,
      ),
      status,
    ),
  );
  showMentionedEvent();
}

/** Who wrote the text, for those who want to know: the version and, during a test of
 * a new version, which side this family is on. */
function versionText(rec: Recommendation): string {
  const arm =
    rec.arm === 'candidate'
      ? ' (a new version being tried)'
      : rec.arm === 'control'
        ? ''
        : rec.arm
          ? ` (${rec.arm})`
          : '';
  return `Written by version ${rec.model_version ?? 'unknown'}${arm}.`;
}

/** The event the card names, under the chart when the chart does not reach it, so the
 * parent can see every event the advice is about. */
function showMentionedEvent(): void {
  const card = document.getElementById('forecast');
  const rec = app.shownRecommendation;
  if (!card || card.dataset.state !== 'ready') return;
  card.querySelector('.events-ahead')?.remove();
  const test = rec?.facts?.next_test;
  if (!rec || !test || app.route.name !== 'today' || rec.child_id !== app.route.childId) return;
  const [name, day] = test;
  const charted = [...card.querySelectorAll<HTMLElement>('.events li')].some(
    (li) => li.dataset.eventType?.replace(/_/g, ' ') === name,
  );
  if (charted) return;
  const at = rec.facts?.next_test_time ? ` at ${rec.facts.next_test_time}` : '';
  card.append(
    h('p', { class: 'events-ahead', id: 'events-ahead' }, `After this chart: ${name} ${day}${at}.`),
  );
}

function fillForecast(
  card: HTMLElement,
  stress: StressForecast | { status: 'insufficient_data'; reason?: string },
  timezone: string,
): void {
  card.querySelector('.loading')?.remove();
  app.chart?.destroy();
  app.chart = null;
  if (isInsufficient(stress) || !stress.times?.length) {
    card.append(
      notice(
        `Not enough data for a forecast yet${
          isInsufficient(stress) && stress.reason ? `: ${stress.reason}` : '.'
        }`,
      ),
    );
    card.dataset.state = 'empty';
    return;
  }
  const values = stress.mean.map((v, i) => ({ v, t: stress.times[i]! }));
  const peak = values.reduce((a, b) => (b.v > a.v ? b : a), values[0]!);
  const low = values.reduce((a, b) => (b.v < a.v ? b : a), values[0]!);
  const events = (stress.events ?? []).filter(
    (e) => Date.parse(e.start) >= Date.parse(stress.times[0]!) &&
      Date.parse(e.start) <= Date.parse(stress.times[stress.times.length - 1]!),
  );
  const chartBox = h('div', {
    class: 'chart',
    id: 'stress-chart',
    'data-points': String(stress.times.length),
    role: 'img',
    'aria-label': `Expected stress over the next ${stress.times.length} hours, with its likely range`,
  });
  const summary = h(
    'p',
    { class: 'chart-summary' },
    `Highest around ${formatTime(new Date(peak.t), timezone)} (about ${level(peak.v)}), calmest around ${formatTime(
      new Date(low.t),
      timezone,
    )} (about ${level(low.v)}).`,
  );
  const legend = h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    h('li', {}, h('span', { class: 'swatch swatch-line', 'aria-hidden': 'true' }), 'Expected stress'),
    h('li', {}, h('span', { class: 'swatch swatch-band', 'aria-hidden': 'true' }), 'Likely range'),
    events.length
      ? h('li', {}, h('span', { class: 'swatch swatch-event', 'aria-hidden': 'true' }), 'Events')
      : null,
  );
  const figure = h('figure', { class: 'chart-figure' }, chartBox, h('figcaption', {}, summary, legend));
  card.append(figure);
  if (events.length) {
    card.append(
      h(
        'ul',
        { class: 'events', 'aria-label': 'Events in the next 24 hours' },
        events.map((e) =>
          h('li', { 'data-event-type': e.event_type }, eventLabel(e.event_type, e.start, timezone, e.title)),
        ),
      ),
    );
  }
  card.dataset.state = 'ready';
  showMentionedEvent();
  // uPlot needs the box in the document to measure it.
  requestAnimationFrame(() => {
    if (!chartBox.isConnected) return;
    app.chart = stressChart(chartBox, stress, timezone);
  });
}

function fillSleep(
  card: HTMLElement,
  sleep: SleepForecast | { status: 'insufficient_data'; reason?: string },
): void {
  card.querySelector('.loading')?.remove();
  if (isInsufficient(sleep) || !sleep.nights?.length) {
    card.append(notice('Not enough sleep data for a forecast yet.'));
    return;
  }
  const list = h('ul', { class: 'nights' });
  for (const night of sleep.nights) {
    list.append(
      h(
        'li',
        { class: 'night' },
        h(
          'div',
          { class: 'night-date' },
          svg('<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true"><path d="M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z" fill="#4B5BA8"/></svg>'),
          h('span', {}, formatDate(night.date)),
          // Why nights differ: the calendar says what the next day is.
          h('span', { class: 'badge' }, night.before_free_day ? 'before a free day' : 'before a school day'),
        ),
        h(
          'dl',
          { class: 'night-facts' },
          h(
            'div',
            {},
            h('dt', {}, 'Bedtime'),
            h('dd', {}, clockTime(night.bedtime.mean)),
            h('dd', { class: 'range' }, `${clockTime(night.bedtime.lower)}–${clockTime(night.bedtime.upper)}`),
          ),
          h(
            'div',
            {},
            h('dt', {}, 'Sleep'),
            h('dd', {}, hoursText(night.duration_hours.mean)),
            h(
              'dd',
              { class: 'range' },
              `${night.duration_hours.lower.toFixed(1)}–${night.duration_hours.upper.toFixed(1)} h`,
            ),
          ),
        ),
      ),
    );
  }
  card.append(list);
}

const KIND_LABEL: Record<string, string> = {
  mindfulness: 'Mindfulness',
  outdoor_play: 'Outdoor play',
  screen_limit: 'Screen limits',
  early_bedtime: 'Earlier bedtime',
  reading: 'Reading',
  other: 'Other activities',
};

const kindLabel = (kind: string) => KIND_LABEL[kind] ?? humanize(kind);

const STATUS_TEXT: Record<string, string> = {
  beneficial: 'Seems to help',
  harmful: 'Seems to raise stress',
  inconclusive: 'No clear effect yet',
  insufficient_data: 'Not enough data yet',
};

/** The badge: "strong evidence" only where Sprout's checks ran and passed. */
function statusText(e: Effect): string {
  const base = STATUS_TEXT[e.status] ?? humanize(e.status);
  if (e.status !== 'beneficial' && e.status !== 'harmful') return base;
  switch (e.evidence) {
    case 'strong':
      return e.status === 'beneficial' ? 'Strong evidence it helps' : 'Strong evidence it raises stress';
    case 'checks_failed':
      return `${base} — a check did not pass`;
    case 'unchecked':
      return `${base} — not checked yet`;
    default:
      return base;
  }
}

const STATUS_ORDER: Record<string, number> = {
  beneficial: 0,
  harmful: 1,
  inconclusive: 2,
  insufficient_data: 3,
};

function effectNumbers(e: Effect): string | null {
  if (e.relative_effect === null || e.relative_effect === undefined) return null;
  const ci = e.relative_ci;
  const dir = e.relative_effect < 0 ? 'lower' : 'higher';
  let text = `Stress about ${percent(e.relative_effect)} ${dir}`;
  if (ci && ci.length === 2 && ci.every((v) => Number.isFinite(v))) {
    const [lo, hi] = ci;
    const same = Math.sign(lo) === Math.sign(hi) || lo === 0 || hi === 0;
    text += same
      ? ` (${percent(Math.min(Math.abs(lo), Math.abs(hi)))}–${percent(Math.max(Math.abs(lo), Math.abs(hi)))})`
      : ` (between ${percent(lo)} ${lo < 0 ? 'lower' : 'higher'} and ${percent(hi)} ${hi < 0 ? 'lower' : 'higher'})`;
  }
  return text;
}

async function renderInsights(childId: string, token: number): Promise<void> {
  await loadChildren();
  const info = childInfo(childId);
  if (token !== app.renderToken) return;
  renderShell(app.route);
  const name = info?.child.display_name ?? 'your child';
  main.append(
    h('h1', {}, `What helps ${name}`),
    h(
      'p',
      { class: 'lead' },
      `How each thing you tried changed ${name}’s stress in the two hours after it, compared with moments of the same days that looked alike without it. An earlier bedtime is judged on the next morning, with that night’s sleep beside it.`,
    ),
  );
  const loading = h('p', { class: 'loading' }, 'Loading…');
  main.append(loading);
  try {
    const { effects } = await api.causal(childId);
    if (token !== app.renderToken) return;
    loading.remove();
    if (!effects.length) {
      main.append(notice('No interventions recorded yet.'));
      return;
    }
    const sorted = [...effects].sort(
      (a, b) => (STATUS_ORDER[a.status] ?? 9) - (STATUS_ORDER[b.status] ?? 9),
    );
    const list = h('ul', { class: 'effects', id: 'effects' });
    for (const e of sorted) {
      // The interpretation already gives the numbers; they are only added when it is missing.
      const numbers = e.status === 'insufficient_data' || e.interpretation ? null : effectNumbers(e);
      const days =
        e.status !== 'insufficient_data' &&
        e.treated_days !== undefined &&
        e.control_days !== undefined
          ? `${e.treated_days} ${e.treated_days === 1 ? 'day' : 'days'} with it, ${e.control_days} without`
          : null;
      list.append(
        h(
          'li',
          { class: `effect effect-${e.status}`, 'data-kind': e.kind, 'data-status': e.status },
          h(
            'div',
            { class: 'effect-head' },
            h('h2', { class: 'effect-kind' }, kindLabel(e.kind)),
            h('span', { class: `status status-${e.status}`, 'data-evidence': e.evidence ?? '' }, statusText(e)),
          ),
          h(
            'p',
            { class: 'effect-text' },
            e.interpretation ??
              (e.status === 'insufficient_data'
                ? `${kindLabel(e.kind)}: not enough data yet.`
                : `${kindLabel(e.kind)}: ${statusText(e)}.`),
          ),
          numbers || days
            ? h('p', { class: 'effect-meta' }, [numbers, days].filter(Boolean).join(' · '))
            : null,
        ),
      );
    }
    main.append(list);
  } catch (err) {
    if (token !== app.renderToken) return;
    loading.replaceWith(notice(errorText(err), 'error'));
  }
}

function historyItem(rec: Recommendation, timezone: string): HTMLElement {
  const fb = rec.feedback;
  const feedback = fb
    ? h(
        'span',
        { class: `fb fb-${fb.was_helpful ? 'yes' : 'no'}` },
        svg(fb.was_helpful ? THUMB_UP : THUMB_DOWN),
        fb.was_helpful ? 'Helpful' : 'Not helpful',
      )
    : h('span', { class: 'fb fb-none' }, 'No answer');
  return h(
    'li',
    { class: 'history-item', 'data-recommendation-id': rec.id },
    h('p', { class: 'history-when' }, formatDateTime(new Date(rec.created_at), timezone)),
    h('p', { class: 'history-text' }, rec.recommendation),
    rec.causal_insight ? h('p', { class: 'rec-insight' }, rec.causal_insight) : null,
    h('p', { class: 'history-meta' }, feedback),
  );
}

async function renderHistory(childId: string, token: number): Promise<void> {
  await loadChildren();
  const info = childInfo(childId);
  if (token !== app.renderToken) return;
  renderShell(app.route);
  const name = info?.child.display_name ?? 'your child';
  const tz = info?.child.timezone ?? 'UTC';
  main.append(h('h1', {}, `Past recommendations for ${name}`));
  const loading = h('p', { class: 'loading' }, 'Loading…');
  main.append(loading);
  try {
    const page = await api.recommendations(childId, 30);
    if (token !== app.renderToken) return;
    loading.remove();
    if (!page.items.length) {
      main.append(notice('No recommendations yet.'));
      return;
    }
    main.append(
      h('ol', { class: 'history', id: 'history' }, page.items.map((r) => historyItem(r, tz))),
    );
  } catch (err) {
    if (token !== app.renderToken) return;
    loading.replaceWith(
      err instanceof ApiError && err.routeMissing
        ? notice('Recommendation history is not available yet on this Sprout server.', 'pending')
        : notice(errorText(err), 'error'),
    );
  }
}

// ---------------------------------------------------------------------------------
// Live updates

function childName(id: string): string {
  return childInfo(id)?.child.display_name ?? 'Your child';
}

async function onLiveEvent(event: LiveEvent): Promise<void> {
  const route = app.route;
  const here = 'childId' in route && route.childId === event.child_id;
  switch (event.type) {
    case 'recommendation.created': {
      const shown = document.getElementById('recommendation')?.dataset.recommendationId;
      const announced = event.recommendation_id ?? event.id;
      if (here && route.name === 'today') {
        // The page's own request made it, or it is already on screen.
        if (app.loadingRecommendation === event.child_id || (announced && shown === announced)) return;
      }
      toast(`New recommendation for ${childName(event.child_id)}.`);
      if (!here) return;
      let rec = (typeof event.recommendation === 'object' && event.recommendation !== null
        ? event.recommendation
        : null) as Recommendation | null;
      const wanted =
        (event.recommendation_id as string | undefined) ?? (event.id as string | undefined) ?? rec?.id;
      if (!rec || typeof rec.recommendation !== 'string') {
        // Read it from the history, which never creates one.
        try {
          const page = await api.recommendations(event.child_id, 5);
          rec = page.items.find((r) => r.id === wanted) ?? page.items[0] ?? null;
        } catch {
          rec = null;
        }
      }
      if (!rec) return;
      if (route.name === 'today') {
        const card = document.getElementById('recommendation');
        const info = childInfo(event.child_id);
        if (card && info) fillRecommendation(card, rec, info);
      } else if (route.name === 'history') {
        const info = childInfo(event.child_id);
        let list = document.getElementById('history');
        if (!list) {
          // The first one: the list replaces the "no recommendations yet" note.
          list = h('ol', { class: 'history', id: 'history' });
          const note = main.querySelector('.notice');
          if (note) note.replaceWith(list);
          else main.append(list);
        }
        if (!list.querySelector(`[data-recommendation-id="${CSS.escape(rec.id)}"]`)) {
          list.prepend(historyItem(rec, info?.child.timezone ?? 'UTC'));
        }
      }
      return;
    }
    case 'alert.stress_high': {
      const shown = typeof event.stress_level === 'number' ? ` (${level(event.stress_level)})` : '';
      toast(`${childName(event.child_id)}’s stress is high right now${shown}.`, 'alert');
      const info = childInfo(event.child_id);
      if (info) {
        info.state = await currentState(info.child);
        if (typeof event.stress_level === 'number' && info.state.mood !== 'stressed') {
          info.state = { mood: 'stressed', stress: event.stress_level, at: event.at };
        }
        refreshAvatars(info);
      }
      return;
    }
    case 'chronotype.updated': {
      const info = childInfo(event.child_id);
      if (!info) return;
      const next =
        typeof event.chronotype === 'string'
          ? (event.chronotype as Chronotype)
          : await api
              .chronotype(event.child_id)
              .then((r) => r.chronotype)
              .catch(() => info.chronotype);
      if (next === info.chronotype) return;
      info.chronotype = next;
      toast(`${info.child.display_name}’s chronotype is now: ${CHRONOTYPE_LABEL[next ?? 'unknown']}.`);
      refreshAvatars(info);
      return;
    }
    case 'model.candidate':
      toast('Sprout is trying out an improved model.');
      return;
    case 'model.promoted':
      toast('Sprout now uses an improved model.');
      return;
    case 'model.rolled_back':
      toast('Sprout went back to its previous model.');
      return;
    default:
      return;
  }
}

function refreshAvatars(info: ChildInfo): void {
  // Re-render what shows this child's avatar, keeping the rest of the page.
  const route = app.route;
  if (route.name === 'home') {
    void render();
    return;
  }
  if ('childId' in route && route.childId === info.child.id) {
    document.querySelector('.child-switch svg.avatar')?.replaceWith(avatarFor(info, 28, true));
    const hero = document.querySelector('.hero-avatar');
    if (hero) hero.replaceChildren(avatarFor(info, 132));
    const line = document.getElementById('child-state');
    if (line) line.textContent = heroLine(info);
  }
}

function startLive(): void {
  if (!app.live) {
    app.live = new Live({
      token: storedToken,
      onEvent: (e) => void onLiveEvent(e),
      onStatus: setLiveStatus,
    });
  }
  app.live.start();
}

function logout(): void {
  clearToken();
  app.live?.stop();
  app.children = null;
  go('/login');
}

// ---------------------------------------------------------------------------------
// Render loop

async function render(): Promise<void> {
  const route = parseRoute();
  if (route.name === 'login' && storedToken() === null && location.hash !== '#/login') {
    history.replaceState(null, '', '#/login');
  }
  const previous = app.route;
  app.route = route;
  const token = ++app.renderToken;
  app.chart?.destroy();
  app.chart = null;
  clear(main);
  renderShell(route);
  document.body.dataset.view = route.name;
  try {
    switch (route.name) {
      case 'login':
        renderLogin();
        document.title = 'Log in · Sprout';
        break;
      case 'home':
        document.title = 'Your children · Sprout';
        await renderHome(token);
        break;
      case 'today':
        document.title = 'Today · Sprout';
        await renderToday(route.childId, token);
        break;
      case 'insights':
        document.title = 'Insights · Sprout';
        await renderInsights(route.childId, token);
        break;
      case 'history':
        document.title = 'History · Sprout';
        await renderHistory(route.childId, token);
        break;
    }
  } catch (err) {
    if (token !== app.renderToken) return;
    if (err instanceof ApiError && err.status === 401) return;
    clear(main);
    main.append(h('h1', {}, 'Something went wrong'), notice(errorText(err), 'error'));
    main.append(h('button', { type: 'button', class: 'button-primary', onclick: () => void render() }, 'Try again'));
  }
  if (token !== app.renderToken) return;
  const info = 'childId' in route ? childInfo(route.childId) : undefined;
  if (info) document.title = `${document.title.split(' · ')[0]} · ${info.child.display_name} · Sprout`;
  // Move focus to the new page's heading so screen readers announce it.
  if (previous.name !== route.name || ('childId' in previous) !== ('childId' in route)) {
    const heading = main.querySelector('h1');
    if (heading && document.activeElement === document.body && route.name !== 'login') {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    } else if (route.name === 'login') {
      (document.getElementById('email') as HTMLInputElement | null)?.focus();
    }
  }
  document.body.dataset.ready = 'true';
}

setUnauthorizedHandler(() => {
  if (app.route.name === 'login') return;
  clearToken();
  app.live?.stop();
  app.children = null;
  go('/login');
});

window.addEventListener('hashchange', () => void render());
if (storedToken()) startLive();
void render();


// The skip link must not change the hash, which is the app's route.
document.querySelector('.skip-link')?.addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});
