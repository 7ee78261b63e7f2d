// Building pages from data without HTML: every text goes into a text node or an
// attribute value, never through innerHTML, so nothing a user wrote can become markup or
// script. Event handlers are functions (`on: {click: fn}`), never attributes, and links
// are http(s) or same-site paths only.

const HANDLER_ATTRIBUTE = /^on/i;

/** The URL as a link may carry it: absolute http(s) or a path of this site; else "#". */
export function safeHref(url) {
  try {
    const parsed = new URL(String(url), window.location.href);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") {
      return parsed.href;
    }
  } catch {
    // not a URL at all
  }
  return "#";
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * A new element. `props`: `class`, `text`, `href` (checked), `dataset`, `on`
 * (event listeners) and any other attribute (as text); `children`: nodes or texts.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
      continue;
    }
    if (HANDLER_ATTRIBUTE.test(key)) {
      throw new Error(`event handler attributes are not used: ${key}`);
    }
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "href") node.setAttribute("href", safeHref(value));
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

/** Replace a node's children with these nodes or texts. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** How long ago an ISO time was, shortly ("3 min"), and the time itself for a title. */
export function age(iso) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return { text: "", title: "" };
  const seconds = Math.max(0, (Date.now() - then) / 1000);
  const units = [
    [86400, "d"],
    [3600, "h"],
    [60, "min"],
  ];
  let text = `${Math.floor(seconds)} s`;
  for (const [size, unit] of units) {
    if (seconds >= size) {
      text = `${Math.floor(seconds / size)} ${unit}`;
      break;
    }
  }
  return { text, title: new Date(then).toLocaleString() };
}

/** A <time> element that says how long ago. */
export function ago(iso) {
  const { text, title } = age(iso);
  return el("time", { datetime: iso || "", title, text });
}

/** Say something in a page's live status region (`kind`: info, success, danger). */
export function say(region, message, kind = "info", ...extra) {
  if (!region) return;
  if (!message) {
    fill(region);
    return;
  }
  fill(region, el("div", { class: `alert alert-${kind} mb-3` }, message, ...extra));
}

/** The list of violations of an API error, or nothing. */
export function violations(error) {
  const items = (error && error.violations) || [];
  if (!items.length) return null;
  return el("ul", { class: "mb-0 mt-2" }, items.map((v) => el("li", { text: v })));
}

/** The page's root element and what it says about where things are. */
export function pageRoot() {
  return document.getElementById("karvdash");
}

/** `?user=<owner>` when an admin looks at another user's things, else "". */
export function ownerQuery(root) {
  const { owner, me } = root.dataset;
  return owner && owner !== me ? `?user=${encodeURIComponent(owner)}` : "";
}

/** A size in bytes as people read it ("1.5 MiB"), and the exact count for a title. */
export function humanSize(bytes) {
  const exact = `${Number(bytes).toLocaleString()} bytes`;
  if (!Number.isFinite(bytes) || bytes < 1024) return { text: `${bytes} B`, title: exact };
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = "B";
  for (const next of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  const digits = value < 10 ? 1 : 0;
  return { text: `${value.toFixed(digits)} ${unit}`, title: exact };
}

const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A <time> element with an ISO time as a date and time of the reader's locale. */
export function when(iso) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return el("time", { text: "" });
  const date = new Date(then);
  return el("time", { datetime: iso, title: date.toLocaleString(), text: WHEN.format(date) });
}
