// The Karvdash side panel: the user's services (status, address, stop) refreshed every
// few seconds while the panel is visible, and a tile per template that opens its launch
// form. Rows are kept by name and rebuilt only when their data changed, so a refresh
// does not take the keyboard focus away.

import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { IInfo, ILaunched, IService, ITemplate, KarvdashClient, KarvdashError } from './api';
import { externalLink, fill, h } from './dom';
import { karvdashIcon } from './icon';
import { launchForm } from './launch';

/** How often the list of services is refreshed while the panel is visible (ms). */
export const REFRESH_INTERVAL = 5000;

export interface IPanelOptions {
  client: KarvdashClient;
  /** Called with the templates each time they are read (the launcher's items). */
  templatesChanged?: (templates: ITemplate[]) => void;
}

/** The badge of a service's status: its words and its kind (a CSS modifier). */
export function statusBadge(service: IService): { text: string; kind: string } {
  const { ready, total, phase, reason } = service.status;
  const count = `${ready}/${total}`;
  if (total > 0 && ready === total) {
    return { text: `Ready ${count}`, kind: 'ready' };
  }
  if (phase === 'Failed' || reason) {
    return { text: `${reason || phase} ${count}`, kind: 'failed' };
  }
  if (phase === 'NoPods') {
    return { text: 'No pods', kind: 'idle' };
  }
  return { text: `${phase} ${count}`, kind: 'starting' };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class KarvdashPanel extends Widget {
  readonly client: KarvdashClient;
  private readonly templatesChanged?: (templates: ITemplate[]) => void;
  private readonly errorLine: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly empty: HTMLElement;
  private readonly tiles: HTMLUListElement;
  private readonly who: HTMLElement;
  private readonly dashboardLink: HTMLAnchorElement;
  private readonly refreshButton: HTMLButtonElement;
  private readonly rows = new Map<string, HTMLLIElement>();
  private templates: ITemplate[] | null = null;
  private info: IInfo | null = null;
  private timer = 0;
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private queuedEverything = false;
  /** Services whose stop was asked and not answered yet. */
  private readonly stopping = new Set<string>();
  /** The last refresh's failure, and the last action's (kept until the next action). */
  private loadError: string | null = null;
  private actionError: string | null = null;

  constructor(options: IPanelOptions) {
    super();
    this.client = options.client;
    this.templatesChanged = options.templatesChanged;
    this.id = 'karvdash-panel';
    this.title.icon = karvdashIcon;
    this.title.caption = 'Karvdash';
    this.addClass('kd-panel');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'Karvdash');

    this.refreshButton = h('button', {
      type: 'button',
      class: 'kd-icon-button kd-refresh',
      title: 'Refresh the services and templates',
      'aria-label': 'Refresh'
    });
    refreshIcon.element({ container: this.refreshButton, tag: 'span' });
    this.refreshButton.addEventListener('click', () => {
      this.showError(null);
      void this.refresh(true);
    });
    this.who = h('span', { class: 'kd-user' });
    this.errorLine = h('div', { class: 'kd-error', role: 'alert', hidden: true });
    this.list = h('ul', { class: 'kd-services', 'aria-label': 'Your services' });
    this.empty = h('p', {
      class: 'kd-empty',
      hidden: true,
      text: 'No services are running. Launch one from a template below.'
    });
    this.tiles = h('ul', { class: 'kd-templates', 'aria-label': 'Templates' });
    this.dashboardLink = externalLink(
      '#',
      { class: 'kd-dashboard-link', hidden: true },
      'Open the dashboard'
    );

    fill(
      this.node,
      h(
        'header',
        { class: 'kd-header' },
        h('h2', { class: 'kd-title', text: 'Karvdash' }),
        this.who,
        this.refreshButton
      ),
      this.errorLine,
      h(
        'section',
        { class: 'kd-section', 'aria-labelledby': 'kd-services-heading' },
        h('h3', { id: 'kd-services-heading', class: 'kd-section-title', text: 'Services' }),
        this.list,
        this.empty
      ),
      h(
        'section',
        { class: 'kd-section', 'aria-labelledby': 'kd-launch-heading' },
        h('h3', { id: 'kd-launch-heading', class: 'kd-section-title', text: 'Launch' }),
        this.tiles
      ),
      h('footer', { class: 'kd-footer' }, this.dashboardLink)
    );
  }

  /**
   * Read the services again (and the templates and the installation's facts when
   * `everything` or not yet read). A call made while a refresh runs gets one more after
   * it (that one may have read the list before the change the caller made), shared by
   * every call made meanwhile.
   */
  refresh(everything = false): Promise<void> {
    if (!this.running) {
      this.running = this.load(everything).finally(() => {
        this.running = null;
      });
      return this.running;
    }
    this.queuedEverything ||= everything;
    if (!this.queued) {
      const next = () => {
        this.queued = null;
        const all = this.queuedEverything;
        this.queuedEverything = false;
        return this.refresh(all);
      };
      this.queued = this.running.then(next, next);
    }
    return this.queued;
  }

  /** Open the launch form of a template (the tiles and the launcher's items). */
  async openLaunchForm(templateId: string): Promise<ILaunched | null> {
    this.showError(null);
    let template = this.templates?.find(t => t.id === templateId);
    if (!template) {
      await this.refresh(true);
      template = this.templates?.find(t => t.id === templateId);
    }
    if (!template) {
      this.showError(`There is no template '${templateId}' (any more): refresh the list`);
      return null;
    }
    const launched = await launchForm(this.client, template);
    if (launched) {
      this.announce(launched);
      await this.refresh();
    }
    return launched;
  }

  protected override onAfterShow(): void {
    void this.refresh(this.templates === null);
    this.schedule();
  }

  protected override onAfterHide(): void {
    window.clearTimeout(this.timer);
    this.timer = 0;
  }

  override dispose(): void {
    window.clearTimeout(this.timer);
    super.dispose();
  }

  private schedule(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(async () => {
      // not while the panel is hidden (onAfterHide stops it) or the browser tab is
      if (!this.isVisible) {
        return;
      }
      if (document.visibilityState !== 'hidden') {
        await this.refresh();
      }
      if (this.isVisible && !this.isDisposed) {
        this.schedule();
      }
    }, REFRESH_INTERVAL);
  }

  private async load(everything: boolean): Promise<void> {
    this.node.setAttribute('aria-busy', 'true');
    try {
      const calls: Promise<unknown>[] = [this.client.services().then(s => this.showServices(s))];
      if (everything || this.templates === null) {
        calls.push(this.client.templates().then(t => this.showTemplates(t)));
      }
      if (everything || this.info === null) {
        calls.push(
          this.client.info().then(info => {
            this.showInfo(info);
            if (info.configured === false) {
              throw new Error(info.message || 'the Karvdash server extension is not configured');
            }
          })
        );
      }
      const results = await Promise.allSettled(calls);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      this.loadError = failed ? message(failed.reason) : null;
      this.renderError();
    } finally {
      this.node.removeAttribute('aria-busy');
      this.node.dataset.refreshed = String(Date.now());
    }
  }

  /** Show (or clear) what an action of the user's could not do. */
  private showError(text: string | null): void {
    this.actionError = text;
    this.renderError();
  }

  private renderError(): void {
    const text = this.actionError ?? this.loadError;
    fill(this.errorLine, text);
    this.errorLine.hidden = !text;
  }

  private showInfo(info: IInfo): void {
    this.info = info;
    this.who.textContent = info.user;
    this.who.title = `Signed in as ${info.user}`;
    this.dashboardLink.href = info.dashboard;
    this.dashboardLink.hidden = !info.dashboard;
  }

  private showServices(services: IService[]): void {
    const seen = new Set<string>();
    let previous: Element | null = null;
    for (const service of services) {
      seen.add(service.name);
      const key = JSON.stringify(service);
      let row = this.rows.get(service.name);
      if (!row || row.dataset.key !== key) {
        const fresh = this.row(service, key);
        if (row) {
          const hadFocus = row.contains(document.activeElement);
          row.replaceWith(fresh);
          if (hadFocus) {
            (fresh.querySelector('.kd-stop') as HTMLElement | null)?.focus();
          }
        }
        row = fresh;
        this.rows.set(service.name, row);
      }
      // keep the API's order (by creation time)
      const wanted: Element | null = previous
        ? previous.nextElementSibling
        : this.list.firstElementChild;
      if (wanted !== row) {
        this.list.insertBefore(row, wanted);
      }
      previous = row;
    }
    for (const [name, row] of this.rows) {
      if (!seen.has(name)) {
        row.remove();
        this.rows.delete(name);
      }
    }
    this.empty.hidden = services.length > 0;
    this.node.dataset.services = String(services.length);
  }

  private row(service: IService, key: string): HTMLLIElement {
    const badge = statusBadge(service);
    const { ready, total, phase } = service.status;
    const stopping = this.stopping.has(service.name);
    const stop = h('button', {
      type: 'button',
      class: 'kd-button kd-stop',
      text: stopping ? 'Stopping…' : 'Stop',
      disabled: stopping,
      'aria-label': `Stop ${service.name}`
    });
    stop.addEventListener('click', () => void this.stop(service.name));
    return h(
      'li',
      { class: 'kd-service', 'data-name': service.name, 'data-key': key },
      h(
        'div',
        { class: 'kd-service-head' },
        h('span', { class: 'kd-service-name', text: service.name }),
        h('span', {
          class: `kd-badge kd-badge-${badge.kind}`,
          'data-state': badge.kind,
          title: `${ready} of ${total} pods ready: ${phase}`,
          text: badge.text
        })
      ),
      h('div', { class: 'kd-service-template', text: service.template_name || service.template }),
      service.status.warning
        ? h('div', { class: 'kd-warning', text: service.status.warning })
        : null,
      h(
        'div',
        { class: 'kd-service-actions' },
        service.url
          ? externalLink(
              service.url,
              { class: 'kd-button kd-open', 'aria-label': `Open ${service.name} in a new tab` },
              'Open'
            )
          : null,
        stop
      )
    );
  }

  /** Show a service's Stop button as stopping (or not), in the row shown now. */
  private markStopping(name: string, stopping: boolean): void {
    if (stopping) {
      this.stopping.add(name);
    } else {
      this.stopping.delete(name);
    }
    const button = this.rows.get(name)?.querySelector<HTMLButtonElement>('.kd-stop');
    if (button) {
      button.disabled = stopping;
      button.textContent = stopping ? 'Stopping…' : 'Stop';
    }
  }

  private async stop(name: string): Promise<void> {
    const answer = await showDialog({
      title: `Stop ${name}?`,
      body: new Widget({
        node: h(
          'p',
          { class: 'kd-stop-confirm' },
          `Everything ${name} runs is deleted; files in /private and /shared stay.`
        )
      }),
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Stop' })]
    });
    if (!answer.button.accept) {
      return;
    }
    this.showError(null);
    this.markStopping(name, true);
    try {
      await this.client.stop(name);
    } catch (err) {
      // already gone (404) is what was asked
      if (!(err instanceof KarvdashError && err.status === 404)) {
        this.markStopping(name, false);
        this.showError(`${name} was not stopped: ${message(err)}`);
        return;
      }
    }
    await this.refresh();
    this.stopping.delete(name);
  }

  private showTemplates(templates: ITemplate[]): void {
    this.templates = templates;
    fill(
      this.tiles,
      ...templates.map(template => {
        const tile = h(
          'button',
          {
            type: 'button',
            class: 'kd-template-tile',
            'data-template': template.id,
            title: `Launch ${template.name}: ${template.description}`
          },
          h('span', { class: 'kd-template-name', text: template.name }),
          h('span', { class: 'kd-template-description', text: template.description })
        );
        tile.addEventListener('click', () => void this.openLaunchForm(template.id));
        return h('li', { class: 'kd-template' }, tile);
      })
    );
    if (!templates.length) {
      this.tiles.append(h('li', { class: 'kd-empty', text: 'No templates are available.' }));
    }
    this.templatesChanged?.(templates);
  }

  private announce(launched: ILaunched): void {
    const url = launched.url;
    Notification.success(`Launched ${launched.name}${url ? ` at ${url}` : ''}`, {
      autoClose: 10000,
      actions: url
        ? [
            {
              label: 'Open',
              caption: `Open ${launched.name} in a new tab`,
              callback: () => window.open(url, '_blank', 'noopener')
            }
          ]
        : []
    });
    if (launched.warning) {
      Notification.warning(`${launched.name}: ${launched.warning}`, { autoClose: false });
    }
  }
}
