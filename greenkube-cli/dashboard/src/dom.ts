// A few helpers to build the DOM without HTML strings (so nothing from the API is ever parsed as
// markup), and the three states every section has: loading, error (with what to do and a retry
// button) and empty (with what to do).

/** What may be put inside an element. */
export type Child = Node | string | number | null | undefined | false | Child[];

type Handler = (event: Event) => void;

/** Attributes; `on...` keys take event handlers, `false`, `null` and `undefined` are left out. */
export type Attrs = Record<string, string | number | boolean | null | undefined | Handler>;

/** Appends children, flattening arrays and skipping empty values. */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** An element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        element.addEventListener(key.slice(2), value);
      } else if (key === 'class') {
        element.className = String(value);
      } else if (value === true) {
        element.setAttribute(key, '');
      } else {
        element.setAttribute(key, String(value));
      }
    }
  }
  append(element, children);
  return element;
}

/** Replaces the children of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Inline code, as in a command to run. */
export function code(text: string): HTMLElement {
  return h('code', null, text);
}

/** "Loading …" with a live region. */
export function loading(what = 'Loading'): HTMLElement {
  return h('p', { class: 'state state-loading', role: 'status' }, `${what}…`);
}

/** A failure, what to do about it, and a button that tries again (and more actions). */
export function errorBox(message: string, retry?: () => void, ...actions: Child[]): HTMLElement {
  return h(
    'div',
    { class: 'state state-error', role: 'alert' },
    h('p', null, h('strong', null, 'Could not load this: '), message),
    h(
      'div',
      { class: 'state-actions' },
      retry ? h('button', { type: 'button', class: 'button', onclick: () => retry() }, 'Try again') : null,
      ...actions,
    ),
  );
}

/** Nothing to show, and what to do about it. */
export function emptyBox(...children: Child[]): HTMLElement {
  return h('div', { class: 'state state-empty' }, ...children);
}

/** A titled card. */
export function card(title: string, attrs: Attrs | null, ...children: Child[]): HTMLElement {
  const id = `card-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': id, ...(attrs ?? {}) },
    h('h2', { id }, title),
    ...children,
  );
}
