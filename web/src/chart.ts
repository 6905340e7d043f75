// The next hours of stress: the forecast mean as a line, its interval as a band, and
// the known events (a test, a trip) as marked vertical lines.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { StressForecast } from './api';
import { eventLabel, formatTime } from './format';

const LINE = '#1F6F4A';
const BAND = 'rgba(47, 158, 98, 0.18)';
const EVENT = '#B4372F';

export interface StressChart {
  destroy(): void;
}

export function stressChart(
  container: HTMLElement,
  forecast: StressForecast,
  timezone: string,
): StressChart {
  const xs = forecast.times.map((t) => Date.parse(t) / 1000);
  const pct = (v: number | null | undefined) =>
    v === null || v === undefined || !Number.isFinite(v) ? null : Math.round(v * 1000) / 10;
  const data: uPlot.AlignedData = [
    xs,
    forecast.upper.map(pct),
    forecast.lower.map(pct),
    forecast.mean.map(pct),
  ];
  const events = (forecast.events ?? [])
    .map((e) => ({ at: Date.parse(e.start) / 1000, label: eventLabel(e.event_type, e.start, timezone, e.title) }))
    .filter((e) => e.at >= xs[0] && e.at <= xs[xs.length - 1]);

  const width = () => Math.max(260, container.clientWidth);
  const height = () => (container.clientWidth < 500 ? 220 : 280);

  const opts: uPlot.Options = {
    width: width(),
    height: height(),
    tzDate: (ts) => {
      try {
        return uPlot.tzDate(new Date(ts * 1000), timezone);
      } catch {
        return new Date(ts * 1000);
      }
    },
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { size: 7 } },
    scales: { x: { time: true }, y: { range: [0, 100] } },
    axes: [
      {
        stroke: '#3d4a44',
        grid: { stroke: '#e3e9e5', width: 1 },
        ticks: { stroke: '#cfd8d3', width: 1 },
        values: (_u, splits) => splits.map((s) => formatTime(new Date(s * 1000), timezone)),
        font: '12px system-ui, sans-serif',
      },
      {
        stroke: '#3d4a44',
        grid: { stroke: '#e3e9e5', width: 1 },
        ticks: { stroke: '#cfd8d3', width: 1 },
        values: (_u, splits) => splits.map((s) => `${s}%`),
        size: 54,
        font: '12px system-ui, sans-serif',
      },
    ],
    series: [
      {},
      { label: 'Upper', stroke: 'rgba(47,158,98,0.35)', width: 1 },
      { label: 'Lower', stroke: 'rgba(47,158,98,0.35)', width: 1 },
      { label: 'Expected stress', stroke: LINE, width: 2.5 },
    ],
    bands: [{ series: [1, 2], fill: BAND }],
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          const dpr = devicePixelRatio || 1;
          ctx.save();
          let lastRight = -Infinity;
          let row = 0;
          for (const e of events) {
            const x = Math.round(u.valToPos(e.at, 'x', true));
            ctx.strokeStyle = EVENT;
            ctx.lineWidth = 1.5 * dpr;
            ctx.setLineDash([5 * dpr, 4 * dpr]);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.setLineDash([]);
            ctx.font = `600 ${12 * dpr}px system-ui, sans-serif`;
            const w = ctx.measureText(e.label).width;
            const left = Math.min(x + 4 * dpr, u.bbox.left + u.bbox.width - w - 4 * dpr);
            row = left < lastRight + 6 * dpr ? (row + 1) % 3 : 0;
            const y = u.bbox.top + (14 + row * 16) * dpr;
            ctx.fillStyle = 'rgba(255,255,255,0.85)';
            ctx.fillRect(left - 2 * dpr, y - 12 * dpr, w + 4 * dpr, 16 * dpr);
            ctx.fillStyle = EVENT;
            ctx.fillText(e.label, left, y);
            lastRight = left + w;
          }
          ctx.restore();
        },
      ],
    },
  };

  const plot = new uPlot(opts, data, container);
  const observer = new ResizeObserver(() => {
    const w = width();
    if (Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height: height() });
  });
  observer.observe(container);
  return {
    destroy() {
      observer.disconnect();
      plot.destroy();
    },
  };
}
