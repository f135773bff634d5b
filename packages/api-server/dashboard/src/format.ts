/** Watt-hours with a unit that keeps 3–4 significant digits. */
export function formatWh(wh: number): string {
  if (!Number.isFinite(wh)) return '–';
  const abs = Math.abs(wh);
  if (abs >= 1000) return `${(wh / 1000).toFixed(abs >= 10000 ? 1 : 2)} kWh`;
  if (abs >= 10) return `${wh.toFixed(1)} Wh`;
  return `${wh.toFixed(3)} Wh`;
}

/** Joules, rounded for a table cell. */
export function formatJ(j: number): string {
  if (!Number.isFinite(j)) return '–';
  return Math.abs(j) >= 100 ? j.toFixed(0) : j.toFixed(2);
}

/** Watts, or a dash for null. */
export function formatW(w: number | null | undefined): string {
  if (w === null || w === undefined || !Number.isFinite(w)) return '–';
  return Math.abs(w) >= 100 ? w.toFixed(0) : w.toFixed(1);
}

/** A duration in seconds as `1 h 02 min`, `3 min 05 s` or `12.3 s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '–';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** Local wall-clock time of an epoch-seconds instant, `YYYY-MM-DD HH:MM:SS`. */
export function formatClock(epochS: number): string {
  if (!Number.isFinite(epochS)) return '–';
  const d = new Date(epochS * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Percentage with one decimal. */
export function formatPct(pct: number): string {
  return Number.isFinite(pct) ? `${pct.toFixed(1)} %` : '–';
}
