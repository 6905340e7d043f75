// End-to-end tests of the parent app in a real Chromium against a Sprout server.
// See tests/harness.mjs for how the server and the app are found or started.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import {
  apiCall,
  apiLogin,
  DEMO_EMAIL,
  DEMO_PASSWORD,
  routeMissing,
  SCREENSHOT_DIR,
  setup,
} from './harness.mjs';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

let ctx;
let token;
let children; // [{ id, display_name, chronotype }]
let recommendationRoute = null; // null: unknown; true / false after the first probe

const shot = (page, name, fullPage = false) =>
  page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage });

async function newPage(viewport = DESKTOP) {
  const context = await ctx.browser.newContext({ viewport, reducedMotion: 'reduce' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.errors = errors;
  return page;
}

async function logIn(page) {
  await page.goto(`${ctx.appUrl}/#/login`);
  await page.getByLabel('Email').fill(DEMO_EMAIL);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForSelector('.children .child-card');
}

async function openToday(page, childId) {
  await page.goto(`${ctx.appUrl}/#/child/${childId}`);
  await page.waitForSelector('#forecast[data-state]');
  await page.waitForSelector('#recommendation[data-state]');
}

function childWith(chronotype) {
  return children.find((c) => c.chronotype === chronotype);
}

async function hasRecommendationRoute() {
  if (recommendationRoute === null) {
    const answer = await apiCall(ctx.apiUrl, token, 'GET', `/children/${children[0].id}/recommendation`);
    recommendationRoute = !routeMissing(answer);
  }
  return recommendationRoute;
}

const SKIP_NO_RECOMMENDATION =
  'GET /api/v1/children/{id}/recommendation answers 404 route not found: the server has no recommendations yet';

before(async () => {
  ctx = await setup();
  token = await apiLogin(ctx.apiUrl);
  const list = await apiCall(ctx.apiUrl, token, 'GET', '/children');
  assert.equal(list.status, 200);
  children = [];
  for (const child of list.json) {
    let chronotype = child.chronotype;
    if (!chronotype) {
      const report = await apiCall(ctx.apiUrl, token, 'GET', `/children/${child.id}/chronotype`);
      chronotype = report.json?.chronotype ?? null;
    }
    children.push({ ...child, chronotype });
  }
});

after(async () => {
  await ctx?.close();
});

describe('logging in', () => {
  test('a wrong password shows an error and keeps the login form', async () => {
    const page = await newPage(PHONE);
    await page.goto(`${ctx.appUrl}/`);
    await page.waitForSelector('form.login-form');
    await shot(page, 'login-phone');
    await page.getByLabel('Email').fill(DEMO_EMAIL);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    const error = page.locator('#login-error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /do not match/i);
    assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => localStorage.getItem('sprout.token')), null);
    await shot(page, 'login-error-phone');
    await page.context().close();
  });

  test('the keyboard alone logs in; the token is kept and log out forgets it', async () => {
    const page = await newPage(DESKTOP);
    await page.goto(`${ctx.appUrl}/`);
    await page.waitForSelector('#email');
    await shot(page, 'login-desktop');
    // The email field has focus on arrival.
    await page.keyboard.type(DEMO_EMAIL);
    await page.keyboard.press('Tab');
    await page.keyboard.type(DEMO_PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.children .child-card');
    assert.ok(await page.evaluate(() => localStorage.getItem('sprout.token')));
    // A reload keeps the session.
    await page.reload();
    await page.waitForSelector('.children .child-card');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForSelector('form.login-form');
    assert.equal(await page.evaluate(() => localStorage.getItem('sprout.token')), null);
    await page.context().close();
  });
});

describe('children', () => {
  test('the list shows the three demo children with sun, moon and neutral avatars', async () => {
    const page = await newPage(DESKTOP);
    await logIn(page);
    const cards = page.locator('.children > li');
    assert.equal(await cards.count(), 3);
    assert.equal(children.length, 3);
    const expected = { early_bird: 'sun', night_owl: 'moon', intermediate: 'neutral' };
    for (const child of children) {
      const card = page.locator(`.children > li[data-child-id="${child.id}"]`);
      assert.match(await card.innerText(), new RegExp(child.display_name));
      const avatar = await card.locator('svg.avatar').getAttribute('data-avatar');
      assert.equal(avatar, expected[child.chronotype] ?? 'neutral', `${child.display_name} (${child.chronotype})`);
      // The card's link is named by the child's name and state, next to the avatar.
      assert.match(await card.locator('a').innerText(), /asleep|calm|tense|stressed|no recent readings/);
    }
    const owl = childWith('night_owl');
    const bird = childWith('early_bird');
    assert.ok(owl, 'the demo has a night owl');
    assert.ok(bird, 'the demo has an early bird');
    assert.equal(
      await page.locator(`li[data-child-id="${owl.id}"] svg.avatar`).getAttribute('data-avatar'),
      'moon',
    );
    assert.equal(
      await page.locator(`li[data-child-id="${bird.id}"] svg.avatar`).getAttribute('data-avatar'),
      'sun',
    );
    await shot(page, 'children-desktop');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});

describe('today', () => {
  test('the forecast chart renders with data, its band and a marked event, and the next nights', async () => {
    const owl = childWith('night_owl') ?? children[0];
    // A test in the coming hours, so the chart has an event to mark. Re-sending the
    // same event stores it once.
    const start = new Date(Math.ceil(Date.now() / 3600_000) * 3600_000 + 8 * 3600_000);
    const posted = await apiCall(ctx.apiUrl, token, 'POST', `/children/${owl.id}/events`, {
      event_type: 'math_test',
      start: start.toISOString(),
      end: new Date(start.getTime() + 45 * 60_000).toISOString(),
    });
    assert.ok(posted.status === 200 || posted.status === 201, `event: ${posted.status}`);
    const forecast = await apiCall(ctx.apiUrl, token, 'GET', `/children/${owl.id}/forecast?hours=24`);
    assert.equal(forecast.status, 200);

    const page = await newPage(DESKTOP);
    await logIn(page);
    await openToday(page, owl.id);
    assert.equal(await page.locator('.hero svg.avatar').getAttribute('data-avatar'), 'moon');
    // The big avatar is an image with a spoken name.
    assert.match(
      await page.locator('.hero svg.avatar').getAttribute('aria-label'),
      new RegExp(`^${owl.display_name}: Night owl, `),
    );
    if (forecast.json.stress.status === 'insufficient_data') {
      assert.match(await page.locator('#forecast').innerText(), /not enough data/i);
    } else {
      const chart = page.locator('#stress-chart');
      await chart.locator('canvas').waitFor();
      const points = Number(await chart.getAttribute('data-points'));
      assert.ok(points > 0, 'the series has points');
      assert.equal(points, forecast.json.stress.times.length);
      // Something was drawn: the canvas is not blank.
      const inked = await chart.locator('canvas').evaluate((canvas) => {
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        return n;
      });
      assert.ok(inked > 1000, `the chart drew ${inked} pixels`);
      assert.ok(forecast.json.stress.events.length > 0, 'the forecast knows the test');
      const events = await page.locator('#forecast .events li').allInnerTexts();
      assert.ok(events.some((e) => /math test \d{1,2}(:\d{2})? (AM|PM)/.test(e)), `events: ${events}`);
    }
    if (forecast.json.sleep.status !== 'insufficient_data') {
      assert.equal(await page.locator('#sleep .night').count(), forecast.json.sleep.nights.length);
    }
    await page.waitForTimeout(300);
    await shot(page, 'today-desktop');
    await shot(page, 'today-desktop-full', true);
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(400);
    await shot(page, 'today-phone');
    await shot(page, 'today-phone-full', true);
    // The chart follows the narrower screen.
    const width = await page.locator('#stress-chart canvas').evaluate((c) => c.getBoundingClientRect().width);
    assert.ok(width <= PHONE.width, `chart width ${width}`);
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('the recommendation degrades to “not available yet” when the server has none', async (t) => {
    if (await hasRecommendationRoute()) return t.skip('the server has recommendations');
    const page = await newPage(DESKTOP);
    await logIn(page);
    await openToday(page, children[0].id);
    assert.equal(await page.locator('#recommendation').getAttribute('data-state'), 'unavailable');
    assert.match(await page.locator('#recommendation').innerText(), /not available yet/i);
    await page.context().close();
  });

  test('keyboard: the 👍/👎 buttons are reachable and labelled', async (t) => {
    if (!(await hasRecommendationRoute())) {
      console.log(`# skipped: ${SKIP_NO_RECOMMENDATION}`);
      return t.skip(SKIP_NO_RECOMMENDATION);
    }
    const page = await newPage(DESKTOP);
    await logIn(page);
    await openToday(page, children[0].id);
    await page.waitForSelector('.feedback-button');
    const reached = new Set();
    await page.locator('body').focus();
    for (let i = 0; i < 40 && reached.size < 2; i++) {
      await page.keyboard.press('Tab');
      const label = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
      if (label === 'This was helpful' || label === 'This was not helpful') reached.add(label);
    }
    assert.deepEqual([...reached].sort(), ['This was helpful', 'This was not helpful']);
    for (const name of ['This was helpful', 'This was not helpful']) {
      const button = page.getByRole('button', { name, exact: true });
      assert.ok(['true', 'false'].includes(await button.getAttribute('aria-pressed')));
    }
    await page.context().close();
  });

  test('👍 is saved at once, survives a reload, can be changed, and is in the API', async (t) => {
    if (!(await hasRecommendationRoute())) {
      console.log(`# skipped: ${SKIP_NO_RECOMMENDATION}`);
      return t.skip(SKIP_NO_RECOMMENDATION);
    }
    const child = children[0];
    const page = await newPage(PHONE);
    await logIn(page);
    await openToday(page, child.id);
    const card = page.locator('#recommendation');
    if ((await card.getAttribute('data-state')) !== 'ready') {
      return t.skip('the server has no recommendation for this child yet');
    }
    const recId = await card.getAttribute('data-recommendation-id');
    const up = page.getByRole('button', { name: 'This was helpful', exact: true });
    const down = page.getByRole('button', { name: 'This was not helpful', exact: true });
    const saved = page.waitForResponse((r) => r.url().endsWith('/api/v1/feedback') && r.request().method() === 'POST');
    await up.click();
    assert.equal((await saved).status(), 200);
    assert.equal(await up.getAttribute('aria-pressed'), 'true');
    assert.equal(await down.getAttribute('aria-pressed'), 'false');
    await shot(page, 'today-feedback-phone');

    await page.reload();
    await page.waitForSelector('#recommendation[data-state="ready"]');
    assert.equal(await page.locator('#recommendation').getAttribute('data-recommendation-id'), recId);
    assert.equal(await up.getAttribute('aria-pressed'), 'true');

    const fromApi = await feedbackFromApi(child.id, recId);
    assert.equal(fromApi, true, 'the API has the 👍');

    // A changed mind updates it.
    const changed = page.waitForResponse((r) => r.url().endsWith('/api/v1/feedback'));
    await down.click();
    assert.equal((await changed).status(), 200);
    assert.equal(await down.getAttribute('aria-pressed'), 'true');
    assert.equal(await up.getAttribute('aria-pressed'), 'false');
    assert.equal(await feedbackFromApi(child.id, recId), false, 'the API has the 👎');
    await page.context().close();
  });

  test('a recommendation created through the API appears without a reload within 2 s', async (t) => {
    if (!(await hasRecommendationRoute())) {
      console.log(`# skipped: ${SKIP_NO_RECOMMENDATION}`);
      return t.skip(SKIP_NO_RECOMMENDATION);
    }
    // The server writes a child's recommendation on GET …/recommendation when it has no
    // fresh one, and keeps showing it for at least 30 minutes: so a child without one.
    let child = null;
    for (const c of children) {
      const history = await apiCall(ctx.apiUrl, token, 'GET', `/children/${c.id}/recommendations?limit=1`);
      if (history.status === 200 && history.json.items.length === 0) {
        child = c;
        break;
      }
    }
    if (!child) {
      const reason = 'every child already has a recommendation, and the server writes at most one per 30 minutes';
      console.log(`# skipped: ${reason}`);
      return t.skip(reason);
    }
    const page = await newPage(DESKTOP);
    await logIn(page);
    // The history page does not ask for the current recommendation itself.
    await page.goto(`${ctx.appUrl}/#/child/${child.id}/history`);
    await page.waitForFunction(() => !document.querySelector('main .loading'));
    await page.waitForSelector('body[data-live="open"]', { timeout: 10_000 });
    await page.evaluate(() => {
      window.notReloaded = true;
    });
    const created = await apiCall(ctx.apiUrl, token, 'GET', `/children/${child.id}/recommendation`);
    assert.equal(created.status, 200);
    const started = Date.now();
    await page.waitForSelector(`#history .history-item[data-recommendation-id="${created.json.id}"]`, {
      timeout: 2_000,
    });
    console.log(`# the new recommendation appeared after ${Date.now() - started} ms`);
    assert.match(await page.locator('#toasts').innerText(), new RegExp(`New recommendation for ${child.display_name}`));
    assert.equal(await page.evaluate(() => window.notReloaded), true);
    await shot(page, 'history-live-desktop');
    await page.context().close();
  });
});

async function feedbackFromApi(childId, recId) {
  const one = await apiCall(ctx.apiUrl, token, 'GET', `/children/${childId}/recommendation`);
  if (one.json?.id === recId && one.json.feedback) return one.json.feedback.was_helpful;
  const history = await apiCall(ctx.apiUrl, token, 'GET', `/children/${childId}/recommendations?limit=50`);
  const item = history.json?.items?.find((r) => r.id === recId);
  return item?.feedback?.was_helpful ?? null;
}

describe('insights', () => {
  test('one entry per intervention kind, in plain words with its status', async () => {
    const child = childWith('night_owl') ?? children[0];
    const answer = await apiCall(ctx.apiUrl, token, 'GET', `/children/${child.id}/insights/causal`);
    assert.equal(answer.status, 200);
    const kinds = [...new Set(answer.json.effects.map((e) => e.kind))];
    assert.ok(kinds.length > 0);

    const page = await newPage(DESKTOP);
    await logIn(page);
    await page.goto(`${ctx.appUrl}/#/child/${child.id}/insights`);
    await page.waitForSelector('#effects .effect');
    assert.equal(await page.locator('#effects .effect').count(), kinds.length);
    for (const effect of answer.json.effects) {
      const item = page.locator(`#effects .effect[data-kind="${effect.kind}"]`);
      assert.equal(await item.count(), 1, effect.kind);
      assert.equal(await item.getAttribute('data-status'), effect.status);
      if (effect.interpretation) {
        assert.ok((await item.innerText()).includes(effect.interpretation), effect.kind);
      }
    }
    await shot(page, 'insights-desktop', true);
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(200);
    await shot(page, 'insights-phone');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});

describe('history', () => {
  test('past recommendations with their feedback and no internal labels, or “not available yet”', async () => {
    const child = children[0];
    const answer = await apiCall(ctx.apiUrl, token, 'GET', `/children/${child.id}/recommendations?limit=30`);
    const page = await newPage(DESKTOP);
    await logIn(page);
    await page.goto(`${ctx.appUrl}/#/child/${child.id}/history`);
    await page.waitForFunction(() => !document.querySelector('main .loading'));
    const text = await page.locator('main').innerText();
    if (routeMissing(answer)) {
      console.log('# history: GET /recommendations is not there yet; the page says so');
      assert.match(text, /not available yet/i);
    } else {
      assert.equal(answer.status, 200);
      const items = answer.json.items;
      assert.equal(await page.locator('#history .history-item').count() || 0, items.length);
      for (const rec of items.slice(0, 5)) {
        const item = page.locator(`.history-item[data-recommendation-id="${rec.id}"]`);
        const itemText = await item.innerText();
        // Versions and arms are for "Why this?" on the card, not for a parent's list.
        if (rec.model_version) assert.ok(!itemText.includes(rec.model_version), itemText);
        assert.ok(!/\b(control|candidate)\b/.test(itemText), itemText);
        if (rec.feedback) assert.match(itemText, rec.feedback.was_helpful ? /Helpful/ : /Not helpful/);
      }
    }
    await shot(page, 'history-desktop', true);
    await page.context().close();
  });
});

describe('one voice', () => {
  test('the card, the chart and Insights show the same event, clock and figures; 24-hour everywhere once chosen', async (t) => {
    if (!(await hasRecommendationRoute())) {
      console.log(`# skipped: ${SKIP_NO_RECOMMENDATION}`);
      return t.skip(SKIP_NO_RECOMMENDATION);
    }
    const owl = childWith('night_owl') ?? children[0];
    const TWELVE = /\b\d{1,2}(:\d{2})? (AM|PM)\b/;
    const TWENTY_FOUR = /\b\d{2}:\d{2}\b(?! ?(AM|PM))/;
    const page = await newPage(DESKTOP);
    await logIn(page);
    await openToday(page, owl.id);
    await page.waitForSelector('#recommendation[data-state="ready"]');
    await page.waitForSelector('#forecast[data-state="ready"]');
    const rec = (await apiCall(ctx.apiUrl, token, 'GET', `/children/${owl.id}/recommendation`)).json;
    if ((await page.locator('#recommendation').getAttribute('data-recommendation-id')) !== rec.id) {
      // Renewed meanwhile (an event posted by an earlier test): show the current one.
      await openToday(page, owl.id);
      await page.waitForSelector(`#recommendation[data-recommendation-id="${rec.id}"]`);
      await page.waitForSelector('#forecast[data-state="ready"]');
    }
    const card = await page.locator('#recommendation .rec-text').innerText();
    assert.equal(card, rec.recommendation);
    assert.match(card, TWELVE);
    // The event the card names is on the chart or on the line under it, at the card's time.
    if (rec.facts?.next_test) {
      const forecast = await page.locator('#forecast').innerText();
      assert.ok(forecast.includes(rec.facts.next_test[0]), `${forecast} / ${card}`);
      if (rec.facts.next_test_time) assert.ok(forecast.includes(rec.facts.next_test_time), forecast);
    }
    // One clock: no 24-hour time beside the card's 12-hour ones.
    const shown = await page.locator('#recommendation, #forecast .events, .windows, #sleep').allInnerTexts();
    for (const text of shown) assert.ok(!TWENTY_FOUR.test(text), text);
    // "Why this?" keeps the version for those who want it.
    assert.match(await page.locator('#recommendation .rec-version').textContent(), /Written by version /);
    // A cited effect has the same figures on the card and in Insights.
    const levels = rec.facts?.effect_levels;
    if (levels) {
      const figures = `from about ${levels[0]} to ${levels[1]} of 100`;
      assert.ok(card.includes(figures), card);
      await page.goto(`${ctx.appUrl}/#/child/${owl.id}/insights`);
      await page.waitForSelector('#effects');
      const entry = await page.locator(`#effects [data-kind="${rec.action.kind}"]`).innerText();
      assert.ok(entry.includes(figures), entry);
      await openToday(page, owl.id);
      await page.waitForSelector('#recommendation[data-state="ready"]');
    }

    // The family chooses 24-hour: the card is rewritten, the chart and labels follow.
    try {
      await page.selectOption('#clock', '24h');
      await page.waitForFunction(
        () => {
          const text = document.querySelector('#recommendation .rec-text')?.textContent ?? '';
          return /\b\d{2}:\d{2}\b/.test(text) && !/\b(AM|PM)\b/.test(text);
        },
        null,
        { timeout: 20_000 },
      );
      await page.waitForSelector('#forecast[data-state="ready"]');
      await page.waitForSelector('#sleep .night, #sleep .notice');
      const after = await page.locator('#recommendation, #forecast .events, .windows, #sleep').allInnerTexts();
      for (const text of after) assert.ok(!/\b(AM|PM)\b/.test(text), text);
      const settings = await apiCall(ctx.apiUrl, token, 'GET', '/family/settings');
      assert.deepEqual(settings.json, { clock: '24h' });
      await shot(page, 'today-24h-desktop');
    } finally {
      await apiCall(ctx.apiUrl, token, 'PUT', '/family/settings', { clock: '12h' });
      await page.context().close();
    }
  });
});

describe('live', () => {
  test('the live connection recovers by itself after a server restart', async (t) => {
    const ws = await fetch(`${ctx.apiUrl}/api/v1/ws?token=${encodeURIComponent(token)}`);
    if (ws.status === 404) {
      const reason = '/api/v1/ws is not there yet';
      console.log(`# skipped: ${reason}`);
      return t.skip(reason);
    }
    if (!ctx.canRestart) {
      const reason = 'the server was not started by the tests (give SPROUT_BIN to restart it)';
      console.log(`# skipped: ${reason}`);
      return t.skip(reason);
    }
    const page = await newPage(DESKTOP);
    await logIn(page);
    await page.waitForSelector('body[data-live="open"]', { timeout: 10_000 });
    await page.evaluate(() => {
      window.liveHistory = [];
      new MutationObserver(() => window.liveHistory.push(document.body.dataset.live)).observe(
        document.body,
        { attributes: true, attributeFilter: ['data-live'] },
      );
    });
    await ctx.restartServer();
    token = await apiLogin(ctx.apiUrl);
    // It noticed the drop, then came back without a reload.
    await page.waitForFunction(() => window.liveHistory.includes('offline'), null, { timeout: 10_000 });
    await page.waitForFunction(
      () => window.liveHistory.at(-1) === 'open' && document.body.dataset.live === 'open',
      null,
      { timeout: 25_000 },
    );
    console.log(`# live status during the restart: ${(await page.evaluate(() => window.liveHistory)).join(' → ')}`);
    await page.context().close();
  });
});

describe('installable', () => {
  test('the page links a web app manifest whose icons load', async () => {
    const page = await newPage(PHONE);
    await page.goto(`${ctx.appUrl}/`);
    const href = await page.locator('link[rel="manifest"]').getAttribute('href');
    const manifestUrl = new URL(href, `${ctx.appUrl}/`).toString();
    const res = await fetch(manifestUrl);
    assert.equal(res.status, 200);
    const manifest = await res.json();
    assert.equal(manifest.display, 'standalone');
    assert.ok(manifest.icons.some((i) => i.sizes === '512x512' && i.type === 'image/png'));
    for (const icon of manifest.icons) {
      const iconRes = await fetch(new URL(icon.src, manifestUrl));
      assert.equal(iconRes.status, 200, icon.src);
    }
    assert.equal(await page.locator('meta[name="sprout-app"]').count(), 1);
    await page.context().close();
  });
});
