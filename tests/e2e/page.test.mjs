// The demo page itself: keyboard use, labels and visible focus, a phone's
// width, and the screenshot shown in the README (artifacts/demo.png).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDemo, openDemo, waitEvent, count, chooseStyle, callApi, shot, timeline } from './support/demo.mjs';

const demo = useDemo(['--access-ttl', '6', '--refresh-ttl', '60', '--tnco-ttl', '6']);

test('every control is labelled, focus is visible, and the keyboard alone logs in', async (t) => {
  const page = await openDemo(demo.browser.context, demo.server);
  try {
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input, button')]
        .filter((el) => (el.tagName === 'INPUT' ? el.labels.length === 0 : !el.textContent.trim()))
        .map((el) => el.id || el.outerHTML),
    );
    assert.deepEqual(unlabelled, []);

    // Tab: the skip link, then the style group (one stop); arrows choose the style.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'skip');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'style-lgdx');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowDown');
    assert.equal(await page.isChecked('#style-tnco'), true);
    // Then the two fields, then the button.
    for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'login');
    const outline = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement);
      return [s.outlineStyle, parseFloat(s.outlineWidth)];
    });
    assert.equal(outline[0], 'solid');
    assert.ok(outline[1] >= 2, 'a visible focus ring');
    await shot(page, 'keyboard-focus', { clip: { x: 0, y: 0, width: 1280, height: 900 } });
    await page.keyboard.press('Enter');
    await waitEvent(page, 'login');
    await page.click('#logout');
    await waitEvent(page, 'logout');
    assert.deepEqual(page.errors, []);
  } catch (e) {
    await shot(page, 'keyboard-failure');
    t.diagnostic(await timeline(page));
    throw e;
  } finally {
    await page.close();
  }
});

test('on a phone (390 × 844) the page fits its width', async (t) => {
  const page = await openDemo(demo.browser.context, demo.server, { viewport: { width: 390, height: 844 } });
  try {
    await chooseStyle(page, 'kc-password');
    await page.click('#login');
    await waitEvent(page, 'login');
    assert.equal(await callApi(page), '200');
    const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, innerWidth]);
    assert.ok(scrollWidth <= innerWidth, `no horizontal scroll (${scrollWidth} > ${innerWidth})`);
    await shot(page, 'phone', { fullPage: true });
    await page.click('#logout');
    await waitEvent(page, 'logout');
  } catch (e) {
    await shot(page, 'phone-failure');
    t.diagnostic(await timeline(page));
    throw e;
  } finally {
    await page.close();
  }
});

test('the README screenshot: a session through a refresh, an API call and a recovered fault', async (t) => {
  await demo.server.reset();
  const page = await openDemo(demo.browser.context, demo.server, { viewport: { width: 1280, height: 1000 } });
  try {
    await chooseStyle(page, 'kc-password');
    await page.click('#login');
    await waitEvent(page, 'login');
    await waitEvent(page, 'refreshed');
    assert.equal(await callApi(page), '200');
    await page.click('#fault-500');
    await waitEvent(page, 'refreshfailed');
    await waitEvent(page, 'refreshed', (await count(page, 'refreshed')) + 1);
    assert.equal(await callApi(page), '200');
    await page.evaluate(() => document.activeElement?.blur());
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'demo', { fullPage: true });
  } catch (e) {
    await shot(page, 'readme-failure');
    t.diagnostic(await timeline(page));
    throw e;
  } finally {
    await page.close();
  }
});
