// The Karvdash calls of the panel, through the server extension karvdash_labext: it
// answers `karvdash/info` itself and forwards `karvdash/api/<path>` to the dashboard's
// REST API with the user's credentials (same statuses, same JSON). The page's own
// session with JupyterLab's server (cookie, XSRF token) is all the browser sends.

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** What the server extension says about the installation. */
export interface IInfo {
  user: string;
  /** The public path of the dashboard's pages, e.g. /services/karvdash/ */
  dashboard: string;
  version: string;
  /** False when the server extension does not know where the API is (see message) */
  configured?: boolean;
  message?: string;
}

export interface IServiceStatus {
  ready: number;
  total: number;
  phase: string;
  reason?: string | null;
  warning?: string | null;
}

export interface IService {
  name: string;
  template: string;
  template_name?: string | null;
  created: string;
  url: string | null;
  status: IServiceStatus;
}

export type VariableValue = string | number | boolean;

export interface IVariable {
  name: string;
  default: VariableValue;
  type: 'string' | 'integer' | 'boolean';
  help?: string;
  choices?: string[];
}

export interface ITemplate {
  id: string;
  name: string;
  description: string;
  singleton: boolean;
  auth: boolean;
  builtin: boolean;
  variables: IVariable[];
}

export interface ILaunched {
  name: string;
  template: string;
  namespace: string;
  url: string | null;
  objects: string[];
  warning?: string;
}

export interface IStopped {
  name: string;
  deleted: string[];
}

/**
 * A refused or failed call: the API's `reason` and `message`, and `where` (the field a
 * launch error is about: `variables.NAME`) and `violations` when it gives them.
 */
export class KarvdashError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly where: string | null;
  readonly violations: string[];

  constructor(
    status: number,
    reason: string,
    message: string,
    where: string | null = null,
    violations: string[] = []
  ) {
    super(message);
    this.name = 'KarvdashError';
    this.status = status;
    this.reason = reason;
    this.where = where;
    this.violations = violations;
  }

  /** The template variable the error is about (`variables.PORT` or `PORT`), or null. */
  get variable(): string | null {
    if (!this.where) {
      return null;
    }
    return this.where.startsWith('variables.') ? this.where.slice(10) : this.where;
  }
}

type Json = Record<string, unknown>;

function text(value: unknown): string | null {
  return typeof value === 'string' && value ? value : null;
}

/** The error of an answer that is not a success, from its JSON when it has one. */
async function errorOf(response: Response): Promise<KarvdashError> {
  let body: Json | null = null;
  try {
    const parsed: unknown = await response.json();
    body = parsed && typeof parsed === 'object' ? (parsed as Json) : null;
  } catch {
    body = null;
  }
  const message = text(body?.message);
  if (body && message) {
    const violations = Array.isArray(body.violations)
      ? body.violations.filter((v): v is string => typeof v === 'string')
      : [];
    return new KarvdashError(
      response.status,
      text(body.reason) ?? 'error',
      message,
      text(body.where),
      violations
    );
  }
  if (response.status === 404) {
    return new KarvdashError(
      404,
      'no-server-extension',
      "JupyterLab's server does not answer Karvdash's calls: the server extension " +
        'karvdash_labext is not enabled (jupyter server extension enable karvdash_labext)'
    );
  }
  return new KarvdashError(
    response.status,
    'error',
    `the call failed with HTTP ${response.status} ${response.statusText}`.trim()
  );
}

/** The Karvdash calls, under the server's base URL. */
export class KarvdashClient {
  readonly settings: ServerConnection.ISettings;

  constructor(settings?: ServerConnection.ISettings) {
    this.settings = settings ?? ServerConnection.makeSettings();
  }

  info(): Promise<IInfo> {
    return this.call<IInfo>('GET', ['info']);
  }

  services(): Promise<IService[]> {
    return this.call<IService[]>('GET', ['api', 'services']);
  }

  templates(): Promise<ITemplate[]> {
    return this.call<ITemplate[]>('GET', ['api', 'templates']);
  }

  launch(template: string, variables: Record<string, VariableValue>): Promise<ILaunched> {
    return this.call<ILaunched>('POST', ['api', 'services'], { template, variables });
  }

  stop(name: string): Promise<IStopped> {
    return this.call<IStopped>('DELETE', ['api', 'services', name]);
  }

  private async call<T>(method: string, path: string[], body?: Json): Promise<T> {
    const url = URLExt.join(
      this.settings.baseUrl,
      'karvdash',
      ...path.map(part => encodeURIComponent(part))
    );
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (err) {
      throw new KarvdashError(
        0,
        'network',
        `JupyterLab's server cannot be reached (${(err as Error).message}); check the connection`
      );
    }
    if (!response.ok) {
      throw await errorOf(response);
    }
    return (await response.json()) as T;
  }
}
