// Elements made from data without HTML parsing: text is always a text node
// (textContent), attributes are set one by one, so nothing the API returns can add
// markup or script.

export type Child = Node | string | null | undefined | false;
export type Props = Record<string, string | number | boolean | null | undefined>;

/** An element with `props` (`text` and `class` are textContent and className). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (key === 'text') {
      node.textContent = String(value);
    } else if (key === 'class') {
      node.className = String(value);
    } else {
      node.setAttribute(key, value === true ? '' : String(value));
    }
  }
  for (const child of children) {
    if (child) {
      node.append(child);
    }
  }
  return node;
}

/** Replace an element's children. */
export function fill(node: Element, ...children: Child[]): void {
  node.replaceChildren(...children.filter((c): c is Node | string => !!c));
}

/** A link that opens in a new tab without giving it this page (rel=noopener). */
export function externalLink(href: string, props: Props, ...children: Child[]): HTMLAnchorElement {
  return h('a', { ...props, href, target: '_blank', rel: 'noopener noreferrer' }, ...children);
}
