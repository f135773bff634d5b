import { formatDuration, formatJ, formatPct, formatW, formatWh } from './format.js';
import type { EquipmentEnergy, SessionReport } from './types.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Coverage below this is flagged in the table and the bars. */
export const COVERAGE_WARN_PCT = 95;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className !== undefined) node.className = className;
  return node;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function coverageClass(pct: number): string {
  if (pct >= COVERAGE_WARN_PCT) return 'cov-ok';
  return pct >= 50 ? 'cov-warn' : 'cov-bad';
}

function equipmentRow(scope: string, step: string, eq: EquipmentEnergy): HTMLTableRowElement {
  const tr = el('tr');
  tr.className = scope === 'session' ? 'row-session' : '';
  const cells: Array<[string, string?]> = [
    [scope === 'session' ? 'whole session' : step],
    [eq.equipment],
    [formatWh(eq.energyWh), 'num'],
    [formatJ(eq.energyJoules), 'num'],
    [formatW(eq.avgWatts), 'num'],
    [formatW(eq.maxWatts), 'num'],
    [formatW(eq.minWatts), 'num'],
    [formatDuration(eq.durationS), 'num'],
    [formatPct(eq.coveragePct), `num ${coverageClass(eq.coveragePct)}`],
    [String(eq.sampleCount), 'num'],
    [eq.gapCount === 0 ? '–' : formatDuration(eq.longestGapS), 'num'],
    [String(eq.gapCount), 'num'],
  ];
  for (const [text, cls] of cells) tr.append(el('td', text, cls));
  return tr;
}

/** Fills the table body with one row per (step, equipment), then the whole-session rows. */
export function renderReportTable(tbody: HTMLTableSectionElement, report: SessionReport): void {
  const rows: HTMLTableRowElement[] = [];
  for (const step of report.steps) for (const eq of step.equipments) rows.push(equipmentRow('step', step.step, eq));
  for (const eq of report.equipments) rows.push(equipmentRow('session', '', eq));
  tbody.replaceChildren(...rows);
}

/**
 * Horizontal stacked bars, one per step, each segment an equipment in its live-chart colour; under each bar a
 * thin coverage gauge (worst equipment) so a step measured with holes is seen at a glance.
 */
export function renderReportBars(
  host: HTMLElement,
  report: SessionReport,
  colorOf: (equipment: string) => string,
): void {
  const rowH = 34;
  const labelW = 150;
  const valueW = 230;
  const width = Math.max(400, host.clientWidth - 4);
  const barW = Math.max(100, width - labelW - valueW);
  const steps = report.steps;
  const maxWh = Math.max(1e-9, ...steps.map((s) => s.energyWh));
  const root = svg('svg', { width, height: Math.max(rowH, steps.length * rowH), role: 'img' });
  root.setAttribute('aria-label', `Energy per step of ${report.scenario}`);
  steps.forEach((step, i) => {
    const y = i * rowH;
    const label = svg('text', { x: 0, y: y + 15, class: 'bar-label' });
    label.textContent = step.step.length > 22 ? `${step.step.slice(0, 21)}…` : step.step;
    const title = svg('title', {});
    title.textContent = step.step;
    label.append(title);
    root.append(label);
    let x = labelW;
    for (const eq of step.equipments) {
      const w = (Math.max(0, eq.energyWh) / maxWh) * barW;
      if (w <= 0) continue;
      const rect = svg('rect', { x, y: y + 4, width: w, height: 16, fill: colorOf(eq.equipment), 'data-equipment': eq.equipment });
      const tip = svg('title', {});
      tip.textContent = `${eq.equipment}: ${formatWh(eq.energyWh)}, coverage ${formatPct(eq.coveragePct)}`;
      rect.append(tip);
      root.append(rect);
      x += w;
    }
    const worst = step.equipments.reduce((m, e) => Math.min(m, e.coveragePct), 100);
    const gaps = step.equipments.reduce((n, e) => n + e.gapCount, 0);
    root.append(svg('rect', { x: labelW, y: y + 23, width: barW, height: 4, class: 'cov-track' }));
    root.append(
      svg('rect', {
        x: labelW,
        y: y + 23,
        width: (Math.max(0, Math.min(100, worst)) / 100) * barW,
        height: 4,
        class: `cov-fill ${coverageClass(worst)}`,
      }),
    );
    const value = svg('text', { x: labelW + barW + 8, y: y + 15, class: 'bar-value' });
    value.textContent = `${formatWh(step.energyWh)} · cov ≥ ${formatPct(step.equipments.length > 0 ? worst : 0)} · ${gaps} gap${gaps === 1 ? '' : 's'}`;
    root.append(value);
  });
  host.replaceChildren(root);
}
