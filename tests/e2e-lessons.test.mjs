// End-to-end tests of the guided lessons (web/lessons/): the first visit's offer, a chapter's
// experiment and its checkpoints lighting up from the live run (and marking their chart), next
// and back through the link, a teacher's link that hides and locks controls, and a lesson link
// that names no lesson.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARTIFACTS, WAIT, compareReady, hashOf, play, ready, useBrowser } from './browser.mjs';

const open = useBrowser();
const chapterOf = async (page) => page.$eval('body', (b) => b.dataset.chapter ?? null);
const met = (page, i) => page.waitForSelector(`#lesson-checks li[data-index="${i}"][data-met="true"]`, WAIT);

test('a first visit is offered the tour; it starts at chapter 1, trains, and lights its checkpoints', async () => {
  const { page, problems } = await open('');
  await page.waitForSelector('#lesson-offer:not([hidden])', WAIT);
  await page.click('#lesson-offer-start');
  await page.waitForFunction(() => document.body.dataset.chapter === '1', null, WAIT);
  assert.equal(hashOf(page).get('lesson'), 'paper');
  assert.equal(hashOf(page).get('chapter'), '1');
  assert.ok(await page.isHidden('#lesson-offer'), 'the offer goes once the tour starts');
  // The chapter's experiment trains by itself; "the layers fire" is met from the live probe.
  await page.waitForSelector('body[data-running="true"]', WAIT);
  await met(page, 0);
  assert.match(await page.textContent('#lesson-checks li[data-index="0"] .when'), /^seen at step \d+$/);
  // Its chart (the rate profile) is outlined and carries the checkpoint's note.
  const note = await page.$eval('#chart-profile', (c) => c.closest('.card').querySelector('.lesson-note')?.textContent ?? '');
  assert.match(note, /^✓ 1 · The layers fire/);
  await page.screenshot({ path: `${ARTIFACTS}lesson-chapter1.png` });
  // Next is a new history entry with the next chapter's settings.
  await page.click('#lesson-next');
  await page.waitForFunction(() => document.body.dataset.chapter === '2', null, WAIT);
  await ready(page);
  assert.equal(hashOf(page).get('depth'), '16');
  assert.equal(hashOf(page).get('norm'), 'none');
  const left = await page.$$eval('.lesson-note', (ns) => ns.map((n) => n.textContent));
  assert.ok(left.every((t) => !/The layers fire/.test(t)), `a new chapter clears the old marks: ${left}`);
  await page.click('#lesson-back');
  await page.waitForFunction(() => document.body.dataset.chapter === '1', null, WAIT);
  assert.equal(hashOf(page).get('dataset'), 'moons');
  // A dismissed offer stays dismissed on the next visit.
  const again = await open('');
  assert.ok(await again.page.isHidden('#lesson-offer'));
  assert.deepEqual([...problems, ...again.problems], []);
  await again.page.close();
  await page.close();
});

test('a bare chapter link opens its experiment paused; the silent layers light its checkpoint', async () => {
  const { page, problems } = await open('#lesson=paper&chapter=2');
  await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('depth') === '16', null, WAIT);
  await ready(page);
  assert.equal(await chapterOf(page), '2');
  assert.equal(await page.inputValue('#ctl-depth'), '16');
  assert.equal(await page.$eval('body', (b) => b.dataset.running), 'false', 'a link loads paused');
  await play(page);
  await met(page, 0);
  assert.ok(await page.$eval('#chart-profile', (c) => c.closest('.card').classList.contains('lesson-mark')));
  // Changing a setting keeps the lesson (the link keeps its lesson keys).
  await page.selectOption('#ctl-surrogate', 'triangle');
  await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('surrogate') === 'triangle', null, WAIT);
  assert.equal(hashOf(page).get('lesson'), 'paper');
  assert.equal(hashOf(page).get('chapter'), '2');
  assert.ok(await page.isVisible('#lesson'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('a compare chapter reads each named run: PSP norm under the over-firing share', async () => {
  const { page, problems } = await open('#lesson=paper&chapter=3', { wait: compareReady });
  assert.equal(await chapterOf(page), '3');
  await play(page);
  // "Without a norm, a layer has 25 % or more of its neurons saturated": met from run `none`.
  await met(page, 0);
  assert.ok(await page.$eval('#cmp-profile', (c) => c.closest('.card').querySelector('.lesson-note') !== null));
  await page.screenshot({ path: `${ARTIFACTS}lesson-chapter3.png` });
  assert.deepEqual(problems, []);
  await page.close();
});

test("a teacher's class link hides and locks what the teacher picked", async () => {
  const { page, problems } = await open('#lesson=paper&chapter=2');
  await page.waitForFunction(() => document.body.dataset.chapter === '2', null, WAIT);
  await page.click('#lessons-menu summary');
  await page.click('#class-link-open');
  await page.waitForSelector('#class-dialog[open]', WAIT);
  assert.equal(await page.inputValue('#class-lesson'), 'paper');
  await page.selectOption('#class-chapter', '3'); // 0-based: chapter 4
  await page.check('#class-hide-seed');
  await page.check('#class-lock-norm');
  const url = await page.inputValue('#class-url');
  const p = new URLSearchParams(url.split('#')[1]);
  assert.equal(p.get('lesson'), 'paper');
  assert.equal(p.get('chapter'), '4');
  assert.equal(p.get('hide'), 'seed');
  assert.equal(p.get('lock'), 'norm');
  await page.screenshot({ path: `${ARTIFACTS}lesson-class-dialog.png` });
  await page.click('#class-done');
  // A student opens it: chapter 4, seed hidden, norm shown but fixed.
  const student = await open(`#${url.split('#')[1]}`);
  await student.page.waitForFunction(() => document.body.dataset.chapter === '4', null, WAIT);
  assert.ok(await student.page.isHidden('#ctl-seed'));
  assert.ok(await student.page.isDisabled('#ctl-norm'));
  assert.match(await student.page.textContent('#note-norm'), /fixed by this link/);
  assert.equal(await student.page.inputValue('#ctl-norm'), 'psp', "chapter 4's experiment");
  // Next keeps the teacher's choices.
  await student.page.click('#lesson-next');
  await student.page.waitForFunction(() => document.body.dataset.chapter === '5', null, WAIT);
  assert.equal(hashOf(student.page).get('lock'), 'norm');
  assert.equal(hashOf(student.page).get('hide'), 'seed');
  assert.deepEqual([...problems, ...student.problems], []);
  await student.page.close();
  await page.close();
});

test('a link to a lesson that does not exist says so, naming the key, and the page keeps working', async () => {
  const { page } = await open('#depth=3&lesson=nope');
  await page.waitForSelector('#lesson-error:not([hidden])', WAIT);
  assert.match(await page.textContent('#lesson-error'), /^lesson: 'nope' is not a lesson \(one of paper\)/);
  assert.equal(await page.inputValue('#ctl-depth'), '3', "the link's settings stay");
  assert.ok(await page.isEnabled('#play'));
  await page.close();
  const bad = await open('#lesson=paper&chapter=99');
  await bad.page.waitForFunction(() => document.body.dataset.chapter === '1', null, WAIT);
  assert.match(await bad.page.textContent('#lesson-error'), /chapter '99' ignored \(must be 1 to 7\)/);
  await bad.page.close();
});
