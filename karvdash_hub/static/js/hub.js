// JupyterHub's REST API (and the authenticator's additions under karvdash/api/), from a
// page of the hub: the hub's own session, with the XSRF token the hub puts in every page
// (window.jhdata).

import { ApiError } from "./api.js";

export async function hubCall(hubPrefix, method, path, body) {
  let response;
  try {
    response = await fetch(`${hubPrefix}${path}`, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "X-XSRFToken": window.jhdata ? window.jhdata.xsrf_token : "",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15000),
    });
  } catch {
    throw new ApiError(0, { reason: "unavailable", message: "the hub cannot be reached" });
  }
  if (response.status === 204) return null;
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    answer = { message: `the hub answered ${response.status}` };
  }
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

/** Every user of the hub (JupyterHub pages its list: all pages are read). */
export async function allUsers(hubPrefix) {
  const users = [];
  let offset = 0;
  for (;;) {
    const response = await fetch(`${hubPrefix}api/users?offset=${offset}&limit=200`, {
      credentials: "same-origin",
      headers: {
        Accept: "application/jupyterhub-pagination+json",
        "X-XSRFToken": window.jhdata ? window.jhdata.xsrf_token : "",
      },
      signal: AbortSignal.timeout(15000),
    });
    const answer = await response.json();
    if (!response.ok) throw new ApiError(response.status, answer);
    const items = Array.isArray(answer) ? answer : answer.items;
    users.push(...items);
    const next = !Array.isArray(answer) && answer._pagination && answer._pagination.next;
    if (!next || !items.length) return users;
    offset = next.offset;
  }
}
