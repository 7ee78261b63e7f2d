// Paths in the file domains, as the files API and the Files page's addresses spell them:
// `/`-separated names relative to the domain's root ("" is the root), each name
// percent-encoded on its own (a name may hold any character but "/").

export const DOMAINS = { private: "My files", shared: "Shared" };

/** The names of a path. */
export function names(path) {
  return path.split("/").filter((name) => name !== "");
}

export function joinPath(...parts) {
  return parts.flatMap(names).join("/");
}

export function parentOf(path) {
  return names(path).slice(0, -1).join("/");
}

export function encodePath(path) {
  return names(path).map(encodeURIComponent).join("/");
}

/** The API path of something in a domain (relative to .../api/); the root's ends with "/". */
export function apiPath(domain, path) {
  return `files/${domain}/${encodePath(path)}`;
}

/** The Files page's address of a folder; `query` is "" or "?user=...". */
export function pageUrl(prefix, domain, path, query = "") {
  const encoded = encodePath(path);
  return `${prefix}files/${domain}${encoded ? `/${encoded}` : ""}${query}`;
}

/** The domain and folder that the page's address names (`files` alone: My files). */
export function fromLocation(prefix, pathname) {
  const rest = pathname.startsWith(`${prefix}files`) ? pathname.slice(`${prefix}files`.length) : "";
  const parts = names(rest).map((name) => {
    try {
      return decodeURIComponent(name);
    } catch {
      return name;
    }
  });
  const domain = Object.hasOwn(DOMAINS, parts[0] || "") ? parts[0] : "private";
  return { domain, path: parts.slice(1).join("/") };
}

/** What the browser can show of a file in the page: "image", "text" or null, as the API
 * says in the entry (it answers those previews inline: images as they are, text as
 * text/plain). */
export function previewKind(entry) {
  return entry.preview || null;
}
