// The pace every run trains at: a cap in steps per second (0: as fast as it can), chosen in
// the header's Speed menu and kept in the link as `pace`. It is one setting for the page, not
// for a run: explore's run and every run of a comparison follow it, and a new worker gets it
// before it first trains (run-worker.js sends it with PLAY). Enforced in the worker
// (worker.js: a token budget per tick), so a slow-motion run still probes every step.
import { ToWorker } from './protocol.js';

/** The menu's choices, fastest first; 0 is "max". */
export const PACES = [0, 100, 30, 10, 3, 1];

let current = 0;
const workers = new Set(); // the RunWorkers alive now (run-worker.js adds and removes itself)

export const pace = () => current;

/** "max" or "10 steps/s". */
export const paceLabel = (p) => (p ? `${p} step${p === 1 ? '' : 's'}/s` : 'max');

/**
 * The `pace` link value: "max" or one of PACES. Returns { pace } or { error } naming the key,
 * as state.js's link messages do.
 */
export function parsePace(text) {
  const t = String(text ?? '').trim().toLowerCase();
  if (t === 'max' || t === '0') return { pace: 0 };
  const n = Number(t);
  if (PACES.includes(n)) return { pace: n };
  const shown = t.length > 20 ? `${t.slice(0, 20)}…` : t;
  return { error: `link value 'pace=${shown}' ignored (pace: one of max, ${PACES.slice(1).join(', ')} steps/s); training at full speed` };
}

const listeners = [];

/** `fn(pace)` after every change (the header's menu shows it). */
export function onPace(fn) {
  listeners.push(fn);
}

/** Sets the pace of every run, now and to come. */
export function setPace(p) {
  const next = PACES.includes(p) ? p : 0;
  const changed = next !== current;
  current = next;
  if (changed) for (const w of workers) w.sendPace();
  for (const fn of listeners) fn(current);
}

export function track(w) {
  workers.add(w);
}

export function untrack(w) {
  workers.delete(w);
}

/** The PACE message for a worker held at `until` (null: not held). */
export const paceMessage = (until) => [ToWorker.PACE, { rate: current, until }];
