// The dashboard service's REST API, from a page of the same site (a client like
// karvdashctl: every operation is the API's).
//
// JupyterHub asks a script's requests for the service's XSRF token, reads included. The
// service's own pages carry it (<meta name="karvdash-xsrf">); a page of the hub gets it,
// and the service's login cookie, from the service's `session` endpoint, which logs the
// browser in through the hub without leaving the page. A request that is refused as not
// logged in is tried once more after such a login.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `the dashboard answered ${status}`);
    this.status = status;
    this.reason = (body && body.reason) || "error";
    this.where = body && body.where;
    this.violations = (body && body.violations) || [];
    // the whole answer, for what a reason adds (an upload's `offset`, ...)
    this.details = body || {};
    // no answer from the service itself: down, restarting, or unreachable
    this.unavailable = this.reason === "unavailable";
  }
}

const TIMEOUT_MS = 15000;

function unavailable(message) {
  return new ApiError(0, { reason: "unavailable", message });
}

async function send(url, options, timeout = TIMEOUT_MS) {
  let response;
  try {
    response = await fetch(url, {
      credentials: "same-origin",
      signal: AbortSignal.timeout(timeout),
      ...options,
    });
  } catch (err) {
    const slow = err && (err.name === "TimeoutError" || err.name === "AbortError");
    throw unavailable(
      slow ? "the dashboard service did not answer in time" : "the dashboard service cannot be reached",
    );
  }
  return response;
}

async function json(response) {
  const type = response.headers.get("Content-Type") || "";
  if (!type.startsWith("application/json")) {
    // the proxy's or the hub's page instead of the service's answer
    throw unavailable(`the dashboard service is unavailable (${response.status})`);
  }
  try {
    return await response.json();
  } catch {
    throw unavailable("the dashboard service gave an answer that is not JSON");
  }
}

export class Dashboard {
  constructor(root) {
    this.api = root.dataset.api;
    this.session = root.dataset.session || `${root.dataset.prefix}session`;
    const meta = document.querySelector('meta[name="karvdash-xsrf"]');
    this.xsrf = meta ? meta.content : null;
    this.loggedIn = false;
  }

  /** Log in to the service (through the hub, without leaving the page). */
  async login() {
    const headers = { Accept: "application/json" };
    let response = await send(this.session, { headers });
    let body = response.ok ? await json(response) : null;
    if (!body || !body.name) {
      response = await send(`${this.session}?login=1`, { headers });
      if (response.url && new URL(response.url).pathname.endsWith("/login")) {
        throw new ApiError(401, { reason: "not-authenticated", message: "log in again to see your services" });
      }
      body = await json(response);
    }
    if (!response.ok) throw new ApiError(response.status, body);
    this.xsrf = body.xsrf;
    this.loggedIn = true;
    return body;
  }

  /** The URL of an API path (relative to .../api/) with a query (an object). */
  url(path, query = {}) {
    const search = new URLSearchParams(query).toString();
    return this.api + path + (search ? `?${search}` : "");
  }

  /** The service's XSRF token, for requests a page makes itself (uploads, previews). */
  async token() {
    if (!this.xsrf) await this.login();
    return this.xsrf;
  }

  /**
   * Call the API: `path` relative to .../api/; `query` an object; `body` sent as JSON;
   * `timeout` in milliseconds (for operations that take long: copying a big folder).
   */
  async call(method, path, { query = {}, body, text = false, timeout = TIMEOUT_MS } = {}) {
    if (!this.xsrf) await this.login();
    const url = this.url(path, query);
    const request = () =>
      send(
        url,
        {
          method,
          headers: {
            Accept: text ? "application/yaml, application/json" : "application/json",
            "X-XSRFToken": this.xsrf,
            ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        },
        timeout,
      );
    let response = await request();
    if (response.status === 401 && !this.loggedIn) {
      await this.login();
      response = await request();
    }
    if (response.status === 204) return null;
    if (text && response.ok) return response.text();
    const answer = await json(response);
    if (!response.ok) throw new ApiError(response.status, answer);
    return answer;
  }
}
