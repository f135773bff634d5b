import uPlot from 'uplot';
import { binSeries } from './binning.js';
import { formatW } from './format.js';
import { SeriesRing } from './ring-buffer.js';
import { timeTickLabels } from './time-axis.js';

/** A step drawn behind the trace. `endS` null means it is still running. */
export interface StepBand {
  label: string;
  startS: number;
  endS: number | null;
}

/** Options of {@link LiveChart}. */
export interface LiveChartOptions {
  /** Fixed plot height in CSS pixels (fixed so the page never jumps). */
  height: number;
  /** Samples kept per equipment: one hour at 1 Hz with some slack by default. */
  capacity?: number;
  /** Visible window in seconds. */
  windowS?: number;
  /** Colour of an equipment's trace and legend swatch (the report's bars take the same); by order otherwise. */
  colorOf?: (equipment: string) => string;
}

const BAND_FILLS = ['rgba(56, 116, 203, 0.10)', 'rgba(230, 140, 30, 0.13)'];

/** `text` cut with an ellipsis to fit `maxWidth` canvas pixels (squeezing it would make it unreadable). */
function fitText(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? '' : `${text.slice(0, lo)}…`;
}

/** A distinct colour per series index: golden-angle hue steps keep neighbours apart even for 50 series. */
export function seriesColor(index: number): string {
  const hue = (index * 137.508) % 360;
  const light = index % 2 === 0 ? 42 : 55;
  return `hsl(${hue.toFixed(1)}, 70%, ${light}%)`;
}

/**
 * Live power chart: one ring buffer per equipment, decimated onto about one bin per pixel, redrawn at most once
 * per animation frame however fast samples arrive. Steps are painted as bands under the traces.
 */
export class LiveChart {
  private readonly rings = new Map<string, SeriesRing>();
  private readonly order: string[] = [];
  private plot: uPlot;
  private readonly plotOptions: uPlot.Options;
  private readonly colorOf: (equipment: string) => string;
  /** Server clock minus this browser's, in ms: the window ends at the server's now. */
  private clockOffsetMs = 0;
  private readonly capacity: number;
  private windowS: number;
  private bands: StepBand[] = [];
  private fromS = 0;
  private toS = 1;
  private frame = 0;
  private lastLegendMs = 0;
  private newestS = Number.NEGATIVE_INFINITY;
  private renders = 0;
  private timer = 0;
  private lastRenderMs = Number.NEGATIVE_INFINITY;
  private renderMs = 0;
  private renderStartedMs: number | undefined;
  private readonly ticker: number;
  private readonly resize: ResizeObserver;

  constructor(
    private readonly root: HTMLElement,
    private readonly legend: HTMLElement,
    options: LiveChartOptions,
  ) {
    this.capacity = options.capacity ?? 4000;
    this.windowS = options.windowS ?? 300;
    this.colorOf = options.colorOf ?? ((equipment) => seriesColor(Math.max(0, this.order.indexOf(equipment))));
    this.plotOptions = {
      width: Math.max(320, root.clientWidth),
      height: options.height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: { time: true, range: () => [this.fromS, this.toS] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 10] },
      },
      series: [{}],
      axes: [
        { stroke: '#333', grid: { stroke: '#e4e4e4' }, values: (_u, splits, _axis, _space, incr) => timeTickLabels(splits, incr) },
        { stroke: '#333', grid: { stroke: '#e4e4e4' }, label: 'W', size: 60 },
      ],
      hooks: { drawClear: [(u) => this.drawBands(u)], draw: [() => this.drawn()] },
    };
    this.plot = this.createPlot();
    this.resize = new ResizeObserver(() => {
      const w = Math.max(320, this.root.clientWidth);
      if (Math.abs(w - this.plot.width) > 1) {
        this.plot.setSize({ width: w, height: options.height });
        this.invalidate();
      }
    });
    this.resize.observe(root);
    // Time moves even when no sample arrives, so the window slides once a second.
    this.ticker = window.setInterval(() => this.invalidate(), 1000);
    this.invalidate();
  }

  /** Visible window length in seconds. */
  setWindow(seconds: number): void {
    this.windowS = seconds;
    this.invalidate(true);
  }

  /**
   * Tells the chart the server's clock (ns since the epoch), so its window ends at the server's now: neither this
   * browser's clock nor a meter's reading from the future can move it.
   */
  setServerNow(nowNs: number): void {
    if (Number.isFinite(nowNs)) this.clockOffsetMs = nowNs / 1e6 - Date.now();
    this.invalidate();
  }

  /** Forgets every series (a different environment was chosen). */
  reset(): void {
    // A new plot rather than `delSeries`: uPlot's `delSeries` fails when cursor points are off (as here).
    this.plot.destroy();
    this.plot = this.createPlot();
    this.rings.clear();
    this.order.length = 0;
    this.bands = [];
    this.newestS = Number.NEGATIVE_INFINITY;
    this.legend.replaceChildren();
    this.invalidate(true);
  }

  /** Adds `[timeNs, watts]` samples of one equipment. */
  addSamples(equipment: string, samples: ReadonlyArray<readonly [number, number]>): void {
    let ring = this.rings.get(equipment);
    if (ring === undefined) {
      ring = new SeriesRing(this.capacity);
      this.rings.set(equipment, ring);
      this.order.push(equipment);
      const index = this.order.length - 1;
      this.plot.addSeries({ label: equipment, stroke: this.colorOf(equipment), width: 1, spanGaps: false }, index + 1);
    }
    for (const [ns, w] of samples) {
      const t = ns / 1e9;
      if (ring.push(t, w) && t > this.newestS) this.newestS = t;
    }
    this.invalidate();
  }

  /** Replaces the step bands. */
  setBands(bands: StepBand[]): void {
    this.bands = bands;
    this.invalidate(true);
  }

  /** Every sample in the visible window, for a download of what is shown. */
  visibleSamples(): Array<{ timeS: number; equipment: string; watts: number }> {
    const out: Array<{ timeS: number; equipment: string; watts: number }> = [];
    for (const name of this.order) {
      this.rings.get(name)?.forEachInRange(this.fromS, this.toS, (timeS, watts) => out.push({ timeS, equipment: name, watts }));
    }
    return out.sort((a, b) => a.timeS - b.timeS);
  }

  /** Stops timers and observers. */
  destroy(): void {
    window.clearInterval(this.ticker);
    window.clearTimeout(this.timer);
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    this.resize.disconnect();
    this.plot.destroy();
  }

  /**
   * Schedules a redraw on the next animation frame, but no sooner than one bin width after the previous one:
   * over a 1 h window a bin is ~3 s wide, so redrawing 50 traces for every reading would burn the main thread
   * without changing a pixel. User actions (`immediate`) skip that wait.
   */
  private invalidate(immediate = false): void {
    if (this.frame !== 0) return;
    if (immediate && this.timer !== 0) {
      window.clearTimeout(this.timer);
      this.timer = 0;
    }
    if (this.timer !== 0) return;
    const widthCss = Math.max(50, this.plot.bbox.width / (window.devicePixelRatio || 1));
    const minGapMs = Math.min(1000, Math.max(50, (this.windowS / widthCss) * 1000));
    const wait = immediate ? 0 : this.lastRenderMs + minGapMs - performance.now();
    if (wait <= 0) {
      this.frame = requestAnimationFrame(() => this.render());
      return;
    }
    this.timer = window.setTimeout(() => {
      this.timer = 0;
      this.frame = requestAnimationFrame(() => this.render());
    }, wait);
  }

  private createPlot(): uPlot {
    const width = Math.max(320, this.root.clientWidth);
    return new uPlot({ ...this.plotOptions, width, series: [{}] }, [[]], this.root);
  }

  private render(): void {
    this.frame = 0;
    const started = performance.now();
    this.lastRenderMs = started;
    // The server's now: a sample from a meter whose clock runs ahead is drawn off the right edge rather than
    // moving every other trace out of the window (the hub does not stream samples far in the future at all).
    this.toS = (Date.now() + this.clockOffsetMs) / 1000;
    this.fromS = this.toS - this.windowS;
    const rings = this.order.map((name) => this.rings.get(name) as SeriesRing);
    const plotWidthCss = Math.max(50, Math.round(this.plot.bbox.width / (window.devicePixelRatio || 1)));
    const binned = binSeries(rings, { fromS: this.fromS, toS: this.toS, maxBins: plotWidthCss });
    this.plot.setData([binned.x, ...binned.columns] as uPlot.AlignedData);
    this.root.dataset['sampleCount'] = String(binned.sampleCount);
    this.root.dataset['seriesCount'] = String(this.order.length);
    this.root.dataset['bandCount'] = String(this.bands.length);
    if (Number.isFinite(this.newestS)) this.root.dataset['lastSampleS'] = this.newestS.toFixed(3);
    const nowMs = performance.now();
    this.renderStartedMs = started;
    // The legend is DOM work: once a second is plenty for a human and keeps 50 series cheap.
    if (nowMs - this.lastLegendMs > 1000) {
      this.lastLegendMs = nowMs;
      this.renderLegend();
    }
  }

  /**
   * uPlot paints in a microtask after `setData` returns, so the cost of a render is only known here. Exposed for
   * the benchmark and for anyone checking the page's cost in the browser's inspector.
   */
  private drawn(): void {
    if (this.renderStartedMs === undefined) return;
    this.renders++;
    this.renderMs += performance.now() - this.renderStartedMs;
    this.renderStartedMs = undefined;
    this.root.dataset['renderCount'] = String(this.renders);
    this.root.dataset['renderMsTotal'] = this.renderMs.toFixed(1);
  }

  private renderLegend(): void {
    const items = this.legend.children;
    let total = 0;
    this.order.forEach((name, i) => {
      const ring = this.rings.get(name) as SeriesRing;
      const latest = ring.newestTime >= this.fromS ? ring.newestValue : undefined;
      if (latest !== undefined) total += latest;
      let li = items[i] as HTMLLIElement | undefined;
      if (li === undefined) {
        li = document.createElement('li');
        li.dataset['equipment'] = name;
        const swatch = document.createElement('span');
        swatch.className = 'swatch';
        swatch.style.background = this.colorOf(name);
        const label = document.createElement('span');
        label.className = 'name';
        label.textContent = name;
        label.title = name;
        const value = document.createElement('span');
        value.className = 'value';
        li.append(swatch, label, value);
        this.legend.append(li);
      }
      const value = li.lastElementChild as HTMLElement;
      value.textContent = latest === undefined ? '–' : `${formatW(latest)} W`;
    });
    this.legend.dataset['totalWatts'] = total.toFixed(1);
  }

  private drawBands(u: uPlot): void {
    if (this.bands.length === 0) return;
    const { ctx } = u;
    const { left, top, width, height } = u.bbox;
    const dpr = window.devicePixelRatio || 1;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    ctx.font = `${12 * dpr}px system-ui, sans-serif`;
    ctx.textBaseline = 'top';
    this.bands.forEach((band, i) => {
      const end = band.endS ?? this.toS;
      if (end < this.fromS || band.startS > this.toS) return;
      const x0 = u.valToPos(Math.max(band.startS, this.fromS), 'x', true);
      const x1 = u.valToPos(Math.min(end, this.toS), 'x', true);
      ctx.fillStyle = BAND_FILLS[i % 2] as string;
      ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
      if (band.startS >= this.fromS) {
        ctx.fillStyle = 'rgba(40, 40, 40, 0.55)';
        ctx.fillRect(x0, top, Math.max(1, dpr), height);
      }
      const room = x1 - x0 - 8 * dpr;
      if (room > 30 * dpr) {
        ctx.fillStyle = '#222';
        ctx.fillText(fitText(ctx, band.label, room), x0 + 4 * dpr, top + 4 * dpr);
      }
    });
    ctx.restore();
  }
}
