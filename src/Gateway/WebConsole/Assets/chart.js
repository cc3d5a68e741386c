// Line charts with the vendored uPlot (vendor/uplot, MIT): no CDN, nothing fetched at run time.
import { h } from './dom.js';

const palette = ['#0a58ca', '#1a7f37', '#cf222e', '#9a6700', '#8250df', '#57606a', '#bc4c00', '#116329', '#0550ae'];

/**
 * A figure holding a uPlot line chart of series over time. x: seconds since the epoch; series: [{ label, values }].
 * Returns { element, update(x, series) }. The caption says what is drawn; the figures themselves are on the page as
 * text too (tiles or tables), so the chart is an aid, not the only way to read them.
 */
export function lineChart(id, caption, labels, { width = 720, height = 220 } = {}) {
  const holder = h('div', { class: 'chart', id: id + '-plot' });
  const element = h('figure', { id, 'aria-labelledby': id + '-caption' }, h('figcaption', { id: id + '-caption' }, caption), holder);
  let plot = null;
  const options = {
    width, height,
    // At least the last minute on the x axis, so the first samples do not stretch over years.
    scales: { x: { time: true, range: (u, min, max) => [Math.min(min, max - 60), max] } },
    axes: [{}, { size: 50 }],
    series: [{}, ...labels.map((label, i) => ({ label, stroke: palette[i % palette.length], width: 2 }))],
  };
  return {
    element,
    update(x, values) {
      if (typeof window.uPlot !== 'function') {
        holder.textContent = 'The chart library did not load.';
        return;
      }

      const data = [x, ...values];
      if (plot) {
        plot.setData(data);
      } else {
        plot = new window.uPlot(options, data, holder);
      }
    },
  };
}
