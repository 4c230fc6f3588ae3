// The neuron-share mark (activity.js's neuron-share view), drawn alike under the rate profile's
// bars and the network view's boxes so a reader learns it once.
import { neuronActivity } from '../run/activity.js';
import { COLORS } from './canvas.js';

/**
 * Under a layer's slot (x, width w, top y, height h): the share of its neurons that never fired
 * in grey from the left, the share saturated in red from the right; outlined in red when the
 * layer has over-firing neurons, in dark grey when it has dead ones (activity.js's bounds).
 * Shared with the network view so both read alike.
 */
export function shareStrip(ctx, x, y, w, h, silent, saturated) {
  ctx.fillStyle = '#eef2f7';
  ctx.fillRect(x, y, w, h);
  ctx.fillStyle = COLORS.silent;
  ctx.fillRect(x, y, w * Math.min(1, silent), h);
  ctx.fillStyle = COLORS.saturated;
  ctx.fillRect(x + w * (1 - Math.min(1, saturated)), y, w * Math.min(1, saturated), h);
  const a = neuronActivity(silent, saturated);
  if (a.overFiring || a.dead) {
    ctx.strokeStyle = a.overFiring ? COLORS.saturated : COLORS.ink;
    ctx.lineWidth = w >= 6 ? 1.5 : 1;
    ctx.strokeRect(x - 0.5, y - 0.5, w + 1, h + 1);
    ctx.lineWidth = 1;
  }
}
