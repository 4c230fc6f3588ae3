// The lessons as data (web/lessons/): every shipped lesson parses, its experiments are settings
// the page accepts, its checkpoints name runs its comparisons have; a broken lesson file gets
// an error naming the field; the checkpoints' predicates read a Recording as the page keeps it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SCHEMA } from './schema.mjs';
import { checkExperiment, chapterHash, lessonKeys } from '../web/lessons/guide.js';
import { classLink } from '../web/lessons/class-link.js';
import { holds, metricsOf, parseLesson, runsNamed } from '../web/lessons/lesson.js';
import { readCompare, runsOf } from '../web/compare/spec.js';
import { fromHash } from '../web/state/state.js';
import { Recording } from '../web/run/recording.js';

const dir = new URL('../web/lessons/', import.meta.url);
const index = JSON.parse(readFileSync(new URL('index.json', dir)));
const load = (file) => JSON.parse(readFileSync(new URL(file, dir)));

test('every listed lesson parses, and its chapters link to runs the page accepts', () => {
  assert.ok(SCHEMA.fields.length > 0);
  assert.ok(index.length >= 1);
  for (const entry of index) {
    const { lesson, error } = parseLesson(load(entry.file));
    assert.equal(error, undefined, `${entry.file}: ${error}`);
    assert.equal(lesson.id, entry.id, `${entry.file}'s id is the index's`);
    lesson.chapters.forEach((c, i) => {
      assert.equal(checkExperiment(c.experiment, `chapters[${i}].experiment`), null);
      const hash = chapterHash(lesson, i);
      const keys = lessonKeys(hash);
      assert.equal(keys.lesson, lesson.id);
      assert.equal(keys.chapter, String(i + 1));
      const read = fromHash(hash);
      assert.deepEqual(read.errors, {}, `chapter ${i + 1}: the link's settings are all accepted`);
      assert.deepEqual(read.unknown, [], `chapter ${i + 1}: no unknown keys`);
      for (const [k, v] of Object.entries(c.experiment.settings ?? {})) assert.equal(read.config[k], v, `chapter ${i + 1}: ${k}`);
      // A checkpoint that names a run needs a comparison that has it (labels as the page shows them).
      const cmp = readCompare(hash);
      const labels = cmp ? runsOf(read.config, cmp.spec).map((r) => r.label) : [];
      for (const k of c.checkpoints) {
        for (const r of runsNamed(k.when)) assert.ok(labels.includes(r), `chapter ${i + 1}: '${k.see}' watches run '${r}', not one of [${labels}]`);
      }
    });
  }
});

test('a broken lesson file gets an error naming the field', () => {
  const good = load('paper.json');
  const broken = (edit) => {
    const j = structuredClone(good);
    edit(j);
    return parseLesson(j);
  };
  assert.match(broken((j) => (j.chapters[2].checkpoints[0].when.metric = 'silnt_layers')).error,
    /^chapters\[2\]\.checkpoints\[0\]\.when\.metric: 'silnt_layers' is not a metric/);
  assert.equal(broken((j) => (j.chapters[1].checkpoints[0].when.op = '=>')).field, 'chapters[1].checkpoints[0].when.op');
  assert.equal(broken((j) => delete j.chapters[0].experiment).field, 'chapters[0].experiment');
  assert.equal(broken((j) => (j.chapters[0].chart = 'profile')).field, 'chapters[0].chart');
  assert.equal(broken((j) => (j.chapters[0].checkpoints[0].chart = 'pie')).field, 'chapters[0].checkpoints[0].chart');
  assert.equal(broken((j) => (j.id = 'Paper Story')).field, 'id');
  assert.equal(broken((j) => (j.chapters = [])).field, 'chapters');
  assert.equal(broken((j) => (j.chapters[0].checkpoints[0].when = { all: [] })).field, 'chapters[0].checkpoints[0].when.all');
  assert.equal(parseLesson([]).field, 'lesson');
  assert.match(broken((j) => (j.chapters[1].experiment.pace = 7)).error, /^chapters\[1\]\.experiment\.pace: must be one of 0, 100, 30, 10, 3, 1/);
  // Settings are checked against the schema where the chapter becomes a link.
  assert.match(checkExperiment({ settings: { depht: 3 } }, 'chapters[0].experiment'), /^chapters\[0\]\.experiment\.settings\.depht: is not a setting/);
  assert.match(checkExperiment({ settings: { depth: 0 } }, 'x'), /^x\.settings\.depth: 0 must be in/);
  assert.match(checkExperiment({ preset: 'nope' }, 'x'), /^x\.preset: 'nope' is not a preset/);
  assert.match(checkExperiment({ settings: {}, compare: 'norm:psp' }, 'x'), /^x\.compare: give at least 2 values/);
});

/** A recording with probes and evaluations at the given steps. */
function recording(points) {
  const rec = new Recording({ lr: 0.001 });
  for (const p of points) {
    rec.addTrain({ losses: [p.loss ?? 1], lrs: [0.001], step: p.step, lr: 0.001 });
    rec.addProbe({ step: p.step, rates: p.rates, silent: p.silent ?? p.rates.map(() => 0), saturated: p.saturated ?? p.rates.map(() => 0), synops: p.synops ?? 100 });
    if (p.acc !== undefined) rec.addEval(p.step, { train_accuracy: p.acc, test_accuracy: p.acc });
  }
  return rec;
}

test('metrics come from the latest probe at or before a step', () => {
  const rec = recording([
    { step: 0, rates: [0.2, 0, 0, 0], acc: 0.1 },
    { step: 50, rates: [0.3, 0.5, 0.95, 0.0005], saturated: [0, 0.1, 0.44, 0], silent: [0, 0.2, 0.47, 1], acc: 0.4 },
  ]);
  const live = metricsOf(rec);
  assert.equal(live.step, 50);
  assert.equal(live.silent_layers, 1);
  assert.equal(live.saturated_layers, 1);
  assert.equal(live.worst_saturated, 0.44);
  assert.equal(live.worst_silent, 1);
  assert.ok(Math.abs(live.mean_rate - (0.3 + 0.5 + 0.95 + 0.0005) / 4) < 1e-12);
  const early = metricsOf(rec, 10);
  assert.equal(early.step, 0);
  assert.equal(early.silent_layers, 3);
  assert.equal(early.test_accuracy, 0.1);
  const none = metricsOf(new Recording({ lr: 1 }));
  assert.equal(none.silent_layers, null);
});

test('checkpoints compare a run with a value or with another run, and wait for what is unknown', () => {
  const runs = { none: { test_accuracy: 0.12, worst_saturated: 0.44, step: 90 }, psp: { test_accuracy: 0.3, worst_saturated: 0.05, step: 88 } };
  assert.equal(holds({ run: 'none', metric: 'worst_saturated', op: '>=', value: 0.25 }, runs), true);
  assert.equal(holds({ run: 'psp', metric: 'worst_saturated', op: '>=', value: 0.25 }, runs), false);
  assert.equal(holds({ run: 'psp', metric: 'test_accuracy', op: '>', than: { run: 'none', plus: 0.1 } }, runs), true);
  assert.equal(holds({ run: 'psp', metric: 'test_accuracy', op: '>', than: { run: 'none', plus: 0.2 } }, runs), false);
  assert.equal(holds({ all: [{ run: 'psp', metric: 'step', op: '>=', value: 80 }, { run: 'bn', metric: 'step', op: '>=', value: 0 }] }, runs), false, 'a run not on screen');
  assert.equal(holds({ any: [{ run: 'bn', metric: 'step', op: '>=', value: 0 }, { run: 'none', metric: 'step', op: '>', value: 89 }] }, runs), true);
  assert.equal(holds({ metric: 'test_accuracy', op: '>', value: 0.2 }, { '': { test_accuracy: null } }), false, 'no evaluation yet');
  assert.equal(holds({ metric: 'test_accuracy', op: '>', value: 0.2 }, { '': { test_accuracy: 0.25 } }), true);
  assert.deepEqual(runsNamed({ all: [{ run: 'a', metric: 'step', op: '>', than: { run: 'b' } }, { run: 'a', metric: 'step', op: '>', value: 1 }] }), ['a', 'b']);
});

test("a class link replaces the page's hide and lock, and keeps the rest", () => {
  const url = classLink('http://x/', '#depth=4&hide=seed&lock=lr&lesson=paper&chapter=2', ['seed', 'psp_lambda'], ['norm']);
  const p = new URLSearchParams(url.split('#')[1]);
  assert.equal(p.get('hide'), 'seed,pspLambda');
  assert.equal(p.get('lock'), 'norm');
  assert.equal(p.get('lesson'), 'paper');
  assert.equal(p.get('chapter'), '2');
  assert.equal(p.get('depth'), '4');
  const read = fromHash(`#${url.split('#')[1]}`);
  assert.deepEqual(read.hidden, ['seed', 'psp_lambda']);
  assert.deepEqual(read.locked, ['norm']);
  assert.deepEqual(read.unknown, []);
});
