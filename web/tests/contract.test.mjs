// The parent app against the agreed contract of the routes the server is still
// growing (recommendation, history, feedback, live events). Those routes are stubbed in
// the browser with the contract's shapes, so these tests check the app's side of the
// contract on any server; tests/e2e.test.mjs checks the real routes once they exist.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { apiCall, apiLogin, DEMO_EMAIL, DEMO_PASSWORD, SCREENSHOT_DIR, setup } from './harness.mjs';

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

let ctx;
let children;

before(async () => {
  ctx = await setup();
  const token = await apiLogin(ctx.apiUrl);
  children = (await apiCall(ctx.apiUrl, token, 'GET', '/children')).json;
});

after(async () => {
  await ctx?.close();
});

let counter = 0;
function recommendation(childId, text, extra = {}) {
  counter += 1;
  return {
    id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    child_id: childId,
    created_at: new Date().toISOString(),
    recommendation: text,
    causal_insight: 'Mindfulness lowered her evening stress by about 18% on similar days.',
    forecast: { stress: [], sleep: [] },
    personalization: { chronotype: 'night_owl', preferred_time: '19:30' },
    model_version: 'forecast-v3',
    arm: 'treatment',
    feedback: null,
    ...extra,
  };
}

/** A page whose recommendation routes and live socket follow the contract, in memory. */
async function stubbedPage(viewport) {
  const context = await ctx.browser.newContext({ viewport, reducedMotion: 'reduce' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  const store = new Map(); // child id -> recommendations, newest first
  for (const child of children) {
    store.set(child.id, [
      recommendation(child.id, `Try 10 minutes of breathing with ${child.display_name} before homework.`, {
        created_at: new Date(Date.now() - 2 * 3600_000).toISOString(),
      }),
      recommendation(child.id, 'An earlier bedtime tonight: lights out by 21:00.', {
        created_at: new Date(Date.now() - 26 * 3600_000).toISOString(),
        feedback: { was_helpful: true },
        model_version: 'forecast-v2',
        arm: 'control',
      }),
    ]);
  }
  const feedbackPosts = [];
  await page.route(/\/api\/v1\/children\/[^/]+\/recommendations?(\?.*)?$/, async (route) => {
    const url = new URL(route.request().url());
    const [, childId, what] = url.pathname.match(/children\/([^/]+)\/(recommendations?)$/);
    const list = store.get(childId) ?? [];
    const body = what === 'recommendation' ? list[0] : { items: list, next: null };
    await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
  });
  await page.route(/\/api\/v1\/feedback$/, async (route) => {
    const input = route.request().postDataJSON();
    feedbackPosts.push(input);
    const rec = store.get(input.child_id)?.find((r) => r.id === input.recommendation_id);
    if (!rec) {
      await route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: '{"error":{"code":"not_found","message":"recommendation not found"}}',
      });
      return;
    }
    rec.feedback = { was_helpful: input.was_helpful };
    await route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({
        recommendation_id: rec.id,
        was_helpful: input.was_helpful,
        updated_at: new Date().toISOString(),
      }),
    });
  });
  const sockets = [];
  await page.routeWebSocket(/\/api\/v1\/ws/, (ws) => {
    sockets.push(ws);
  });
  const send = (message) => {
    for (const ws of sockets) ws.send(JSON.stringify(message));
  };
  return { page, store, feedbackPosts, send, sockets, errors };
}

async function logIn(page) {
  await page.goto(`${ctx.appUrl}/#/login`);
  await page.getByLabel('Email').fill(DEMO_EMAIL);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForSelector('.children .child-card');
}

const byChronotype = async (type) => {
  const token = await apiLogin(ctx.apiUrl);
  for (const child of children) {
    const r = await apiCall(ctx.apiUrl, token, 'GET', `/children/${child.id}/chronotype`);
    if (r.json?.chronotype === type) return child;
  }
  return children[0];
};

describe('recommendation (contract, stubbed)', () => {
  test('👍/👎 are labelled, keyboard-reachable, saved at once, changeable and kept on reload', async () => {
    const { page, store, feedbackPosts, errors } = await stubbedPage(PHONE);
    const child = await byChronotype('night_owl');
    await logIn(page);
    await page.goto(`${ctx.appUrl}/#/child/${child.id}`);
    await page.waitForSelector('#recommendation[data-state="ready"]');
    const rec = store.get(child.id)[0];
    assert.match(await page.locator('#recommendation').innerText(), /breathing/);
    assert.match(await page.locator('#recommendation').innerText(), /Mindfulness lowered/);

    const up = page.getByRole('button', { name: 'This was helpful', exact: true });
    const down = page.getByRole('button', { name: 'This was not helpful', exact: true });
    assert.equal(await up.getAttribute('aria-pressed'), 'false');
    assert.equal(await down.getAttribute('aria-pressed'), 'false');

    // Keyboard: Tab reaches both; Enter answers.
    await page.locator('body').focus();
    const reached = [];
    for (let i = 0; i < 40 && reached.length < 2; i++) {
      await page.keyboard.press('Tab');
      const label = await page.evaluate(() => document.activeElement?.getAttribute('aria-label'));
      if (/^This was (not )?helpful$/.test(label ?? '')) reached.push(label);
    }
    assert.deepEqual(reached, ['This was helpful', 'This was not helpful']);
    await page.keyboard.press('Shift+Tab'); // back to 👍
    await page.keyboard.press('Enter');
    await page.waitForFunction(() =>
      document.querySelector('.feedback-status')?.textContent?.includes('Saved as helpful'),
    );
    assert.equal(await up.getAttribute('aria-pressed'), 'true');
    assert.deepEqual(feedbackPosts.at(-1), {
      recommendation_id: rec.id,
      child_id: child.id,
      was_helpful: true,
    });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'today-recommendation-contract-phone.png') });

    await page.reload();
    await page.waitForSelector('#recommendation[data-state="ready"]');
    assert.equal(await up.getAttribute('aria-pressed'), 'true');

    await down.click();
    await page.waitForFunction(() =>
      document.querySelector('.feedback-status')?.textContent?.includes('not helpful'),
    );
    assert.equal(await down.getAttribute('aria-pressed'), 'true');
    assert.equal(await up.getAttribute('aria-pressed'), 'false');
    assert.equal(feedbackPosts.at(-1).was_helpful, false);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('a failed save is undone and said', async () => {
    const { page, errors } = await stubbedPage(DESKTOP);
    await page.route(/\/api\/v1\/feedback$/, (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: '{"error":{"code":"internal","message":"something went wrong on our side; please retry"}}',
      }),
    );
    await logIn(page);
    await page.goto(`${ctx.appUrl}/#/child/${children[0].id}`);
    await page.waitForSelector('#recommendation[data-state="ready"]');
    const up = page.getByRole('button', { name: 'This was helpful', exact: true });
    await up.click();
    await page.waitForFunction(() =>
      document.querySelector('.feedback-status')?.textContent?.startsWith('Not saved'),
    );
    assert.equal(await up.getAttribute('aria-pressed'), 'false');
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('a server without the recommendation routes gets “not available yet”, not an error', async () => {
    const context = await ctx.browser.newContext({ viewport: DESKTOP });
    const page = await context.newPage();
    const missing = (route) =>
      route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: '{"error":{"code":"not_found","message":"route not found"}}',
      });
    await page.route(/\/api\/v1\/children\/[^/]+\/recommendations?(\?.*)?$/, missing);
    await logIn(page);
    await page.goto(`${ctx.appUrl}/#/child/${children[0].id}`);
    await page.waitForSelector('#recommendation[data-state]');
    assert.equal(await page.locator('#recommendation').getAttribute('data-state'), 'unavailable');
    assert.match(await page.locator('#recommendation').innerText(), /not available yet/i);
    await page.goto(`${ctx.appUrl}/#/child/${children[0].id}/history`);
    await page.waitForFunction(() => !document.querySelector('main .loading'));
    assert.match(await page.locator('main').innerText(), /not available yet/i);
    await context.close();
  });

  test('history lists past recommendations with feedback, without internal labels', async () => {
    const { page, store } = await stubbedPage(DESKTOP);
    const child = children[0];
    await logIn(page);
    await page.goto(`${ctx.appUrl}/#/child/${child.id}/history`);
    await page.waitForSelector('#history .history-item');
    const items = page.locator('#history .history-item');
    assert.equal(await items.count(), store.get(child.id).length);
    const second = await items.nth(1).innerText();
    assert.match(second, /Helpful/);
    assert.doesNotMatch(second, /forecast-v2/);
    assert.match(await items.nth(0).innerText(), /No answer/);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'history-contract-desktop.png') });
    await page.context().close();
  });
});

describe('live events (contract, stubbed socket)', () => {
  test('a new recommendation, a stress alert and a chronotype change arrive without a reload', async () => {
    const { page, store, send, sockets, errors } = await stubbedPage(DESKTOP);
    const child = await byChronotype('early_bird');
    await logIn(page);
    await page.goto(`${ctx.appUrl}/#/child/${child.id}`);
    await page.waitForSelector('#recommendation[data-state="ready"]');
    await page.waitForFunction(() => document.body.dataset.live === 'open');
    assert.ok(sockets.length >= 1);
    assert.match(sockets[0].url(), /[?&]token=/);
    await page.evaluate(() => {
      window.notReloaded = true;
    });

    // 1. The whole recommendation in the message.
    const fresh = recommendation(child.id, 'Outdoor play after school today: 30 minutes.');
    store.get(child.id).unshift(fresh);
    const started = Date.now();
    send({ type: 'recommendation.created', child_id: child.id, at: new Date().toISOString(), recommendation: fresh });
    await page.waitForSelector(`#recommendation[data-recommendation-id="${fresh.id}"]`, { timeout: 2_000 });
    assert.ok(Date.now() - started < 2_000);
    assert.match(await page.locator('#recommendation .rec-text').innerText(), /Outdoor play/);

    // 2. Its id and text, as the server sends it: the app reads the rest from the history.
    const next = recommendation(child.id, 'Read together for 15 minutes before bed.');
    store.get(child.id).unshift(next);
    send({
      type: 'recommendation.created',
      child_id: child.id,
      at: new Date().toISOString(),
      recommendation_id: next.id,
      recommendation: next.recommendation,
    });
    await page.waitForSelector(`#recommendation[data-recommendation-id="${next.id}"]`, { timeout: 2_000 });

    // 3. A stress alert is announced (role=alert) and the face turns stressed.
    send({ type: 'alert.stress_high', child_id: child.id, at: new Date().toISOString(), stress_level: 0.82 });
    await page.waitForSelector('#alerts .toast-alert');
    assert.match(await page.locator('#alerts').innerText(), /stress is high.*82 of 100/);
    await page.waitForSelector('.hero svg.avatar[data-mood="stressed"]');

    // 4. A chronotype change redraws the avatar.
    send({ type: 'chronotype.updated', child_id: child.id, at: new Date().toISOString(), chronotype: 'night_owl' });
    await page.waitForSelector('.hero svg.avatar[data-avatar="moon"]');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'today-live-contract-desktop.png') });

    // 5. Model news is shown politely.
    send({ type: 'model.promoted', child_id: child.id, at: new Date().toISOString() });
    await page.waitForFunction(() => /improved model/.test(document.getElementById('toasts')?.textContent ?? ''));

    assert.equal(await page.evaluate(() => window.notReloaded), true);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test('the socket reconnects by itself when the server closes it', async () => {
    const { page, sockets } = await stubbedPage(DESKTOP);
    await logIn(page);
    await page.waitForFunction(() => document.body.dataset.live === 'open');
    const first = sockets.length;
    await sockets.at(-1).close({ code: 1012, reason: 'service restart' });
    await page.waitForFunction(() => document.body.dataset.live !== 'open');
    await page.waitForFunction(() => document.body.dataset.live === 'open', null, { timeout: 5_000 });
    assert.ok(sockets.length > first, 'a new socket was opened');
    await page.context().close();
  });
});
