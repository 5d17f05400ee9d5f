// svg.mjs -- a small hand-written SVG line plot (log-log), enough for latency by record size.

const COLORS = ['#1b6ac9', '#c0392b', '#1e8449', '#7d3c98', '#b9770e'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Decade ticks (1, 10, 100, …) covering [lo, hi]. */
function decades(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

/**
 * panels: [{ title, x: [{ value, label }], series: [{ name, colour?, dashed?, points: [[x, y] | null] }] }], y in ns.
 * Every panel shares the y range so that they can be compared by eye; series keep their style across panels.
 */
export function linePlot({ title, panels, yLabel, formatY }) {
  const pw = 400;
  const ph = 280;
  const left = 70;
  const top = 50;
  const gap = 60;
  const styles = new Map();
  for (const s of panels.flatMap((p) => p.series)) {
    if (!styles.has(s.name)) styles.set(s.name, { colour: s.colour ?? COLORS[styles.size % COLORS.length], dash: s.dashed ? ' stroke-dasharray="6 4"' : '' });
  }
  const names = [...styles.keys()];
  const legendH = 20 * Math.ceil(names.length / 3) + 10;
  const width = left + panels.length * (pw + gap);
  const height = top + ph + 60 + legendH;
  const ys = panels.flatMap((p) => p.series.flatMap((s) => s.points.filter((pt) => pt && pt[1] > 0).map((pt) => pt[1])));
  const yTicks = decades(Math.min(...ys), Math.max(...ys));
  const [y0, y1] = [Math.log10(yTicks[0]), Math.log10(yTicks[yTicks.length - 1])];
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`,
  ];
  panels.forEach((panel, k) => {
    const ox = left + k * (pw + gap);
    const xs = panel.x.map((x) => Math.log2(x.value));
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const px = (v) => ox + 20 + ((Math.log2(v) - x0) / (x1 - x0 || 1)) * (pw - 40);
    const py = (v) => top + ph - ((Math.log10(v) - y0) / (y1 - y0 || 1)) * ph;
    out.push(`<text x="${ox + pw / 2}" y="${top - 10}" text-anchor="middle" font-size="13">${esc(panel.title)}</text>`);
    out.push(`<rect x="${ox}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
    for (const t of yTicks) {
      out.push(`<line x1="${ox}" x2="${ox + pw}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#e4e4e4"/>`);
      if (k === 0) out.push(`<text x="${ox - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${esc(formatY(t))}</text>`);
    }
    for (const x of panel.x) {
      out.push(`<line x1="${px(x.value).toFixed(1)}" x2="${px(x.value).toFixed(1)}" y1="${top}" y2="${top + ph}" stroke="#eee"/>`);
      out.push(`<text x="${px(x.value).toFixed(1)}" y="${top + ph + 18}" text-anchor="middle">${esc(x.label)}</text>`);
    }
    panel.series.forEach((s) => {
      const { colour, dash } = styles.get(s.name);
      const pts = s.points.filter((pt) => pt && pt[1] > 0);
      if (pts.length > 1) {
        const d = pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
        out.push(`<polyline points="${d}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
      }
      for (const [x, y] of pts) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${colour}"/>`);
    });
  });
  out.push(`<text transform="translate(16 ${top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  names.forEach((name, i) => {
    const { colour, dash } = styles.get(name);
    const lx = left + (i % 3) * 230;
    const ly = top + ph + 48 + 20 * Math.floor(i / 3);
    out.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly - 7}" y2="${ly - 7}" stroke="${colour}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 32}" y="${ly - 3}">${esc(name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
