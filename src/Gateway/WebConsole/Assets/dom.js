// Small DOM helpers. Everything shown comes from the API (job payloads, incident titles, tenant names…), so text is
// always set as text, never parsed as HTML.

/** Makes an element: h('a', { href: '#/jobs', class: 'x' }, 'text', child, …). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A page's own heading, focused after navigation so screen readers announce the new page. */
export function pageHeading(text) {
  return h('h1', { id: 'page-title', tabindex: '-1' }, text);
}

/** A section with a heading (h2) that labels it. */
export function section(id, title, ...children) {
  return h('section', { 'aria-labelledby': id + '-title', id }, h('h2', { id: id + '-title' }, title), ...children);
}

/** A tile: one figure with its label and, when known, its target. data-tile names it for tests and scripts. */
export function tile(name, label, value, { target, note, state } = {}) {
  return h('li', { class: 'tile' + (state ? ' tile-' + state : ''), 'data-tile': name },
    h('span', { class: 'tile-label' }, label),
    h('span', { class: 'tile-value' }, value),
    target !== undefined ? h('span', { class: 'tile-target' }, 'target ', target) : null,
    note ? h('span', { class: 'tile-note' }, note) : null);
}

/** A list of tiles. */
export function tiles(label, ...items) {
  return h('ul', { class: 'tiles', 'aria-label': label }, ...items);
}

/** The clear "this server does not have it" state, used when an endpoint answers 404. */
export function notAvailable(what, endpoint) {
  return h('div', { class: 'not-available', 'data-state': 'not-available', role: 'note' },
    h('strong', {}, `${what}: not available on this server.`), ' ',
    h('span', {}, `${endpoint} answered 404 Not Found: this gateway does not offer it yet.`));
}

/** An error box for a failed call (the API's problem details, as it wrote them). */
export function errorBox(error) {
  return h('div', { class: 'error', role: 'alert' }, error?.message ?? String(error));
}

/** A table with a caption, column headings and rows of cells (nodes or text). */
export function table(caption, headings, rows, { empty = 'Nothing to show.', id } = {}) {
  if (rows.length === 0) {
    return h('p', { class: 'empty', id }, empty);
  }

  return h('table', { id },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headings.map(text => h('th', { scope: 'col' }, text)))),
    h('tbody', {}, rows.map(cells => h('tr', {}, cells.map(cell => h('td', {}, cell))))));
}

/** A definition list of label → value pairs (values null or undefined are shown as —). */
export function facts(pairs, label) {
  return h('dl', { class: 'facts', 'aria-label': label },
    pairs.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value ?? '—')]));
}

/** Formats an ISO time as the reader's local time, with the UTC instant as a tooltip. */
export function time(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return h('time', { datetime: date.toISOString(), title: date.toISOString() }, date.toLocaleString());
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function percent(value, digits = 2) {
  return value === null || value === undefined ? '—' : `${Number(value).toFixed(digits)} %`;
}

export function json(value) {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

/** A labelled form field: label + input (or select/textarea given as element). */
export function field(id, label, control) {
  control.id = id;
  if (!control.name) control.name = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

/** A select with options [value, text] and the current value selected. */
export function select(options, current) {
  return h('select', {}, options.map(([value, text]) => h('option', { value, selected: value === (current ?? '') }, text)));
}

/** A status badge (job, agent or incident state). */
export function badge(text) {
  return h('span', { class: 'badge badge-' + String(text).toLowerCase(), 'data-status': text }, text);
}
