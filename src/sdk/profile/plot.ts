/**
 * A small SVG: p50 and p99 latency (ms) against concurrency, one point per load step, and the
 * latency SLO as a dashed line when one was given.
 */
import type { ProfileStep } from './recommend.js';
import type { LatencySlo } from './settings.js';

const WIDTH = 480;
const HEIGHT = 300;
const MARGIN = { left: 56, right: 16, top: 28, bottom: 40 };

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

export function latencyPlot(title: string, steps: ProfileStep[], slo: LatencySlo | null = null): string {
  const points = steps.filter((s) => s.latencyMs !== null);
  const maxY = Math.max(1e-3, slo?.ms ?? 0, ...points.map((s) => s.latencyMs?.p99 ?? 0));
  const count = Math.max(1, steps.length - 1);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  // Concurrency doubles per step, so steps sit evenly on the x axis (a log-2 scale).
  const x = (step: ProfileStep): number => MARGIN.left + (steps.indexOf(step) / count) * plotW;
  const y = (ms: number): number => MARGIN.top + plotH - (ms / maxY) * plotH;
  const line = (key: 'p50' | 'p99', color: string): string => {
    const coords = points.map((s) => `${x(s).toFixed(1)},${y(s.latencyMs?.[key] ?? 0).toFixed(1)}`);
    const dots = coords.map((c) => {
      const [cx, cy] = c.split(',');
      return `<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`;
    });
    return `<polyline fill="none" stroke="${color}" stroke-width="2" points="${coords.join(' ')}"/>${dots.join('')}`;
  };
  const xLabels = steps
    .map(
      (s) =>
        `<text x="${x(s).toFixed(1)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${s.concurrency}</text>`,
    )
    .join('');
  const bottom = HEIGHT - MARGIN.bottom;
  const sloLine =
    slo === null
      ? ''
      : `<line x1="${MARGIN.left}" y1="${y(slo.ms).toFixed(1)}" x2="${WIDTH - MARGIN.right}" y2="${y(slo.ms).toFixed(1)}" stroke="gray" stroke-dasharray="4 3"/>` +
        `<text x="${MARGIN.left + 4}" y="${(y(slo.ms) - 4).toFixed(1)}" fill="gray">SLO ${slo.percentile} ${slo.ms}ms</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(title)}</title>`,
    `<text x="${WIDTH / 2}" y="16" text-anchor="middle" font-size="13">${escapeXml(title)}</text>`,
    `<line x1="${MARGIN.left}" y1="${bottom}" x2="${WIDTH - MARGIN.right}" y2="${bottom}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${bottom}" stroke="black"/>`,
    `<text x="${MARGIN.left - 6}" y="${MARGIN.top + 4}" text-anchor="end">${maxY.toFixed(2)}</text>`,
    `<text x="${MARGIN.left - 6}" y="${bottom}" text-anchor="end">0</text>`,
    `<text x="14" y="${MARGIN.top + plotH / 2}" transform="rotate(-90 14 ${MARGIN.top + plotH / 2})" text-anchor="middle">latency (ms)</text>`,
    xLabels,
    sloLine,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 6}" text-anchor="middle">concurrency</text>`,
    line('p50', '#1f77b4'),
    line('p99', '#d62728'),
    `<text x="${WIDTH - MARGIN.right}" y="${MARGIN.top + 4}" text-anchor="end" fill="#1f77b4">p50</text>`,
    `<text x="${WIDTH - MARGIN.right}" y="${MARGIN.top + 18}" text-anchor="end" fill="#d62728">p99</text>`,
    '</svg>',
    '',
  ].join('\n');
}
