// Karvdash in JupyterLab: the side panel, a command that reveals it, and the templates
// in the Launcher (category "Karvdash"), which open the same launch form as the panel.

import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';

import { ITemplate, KarvdashClient } from './api';
import { karvdashIcon } from './icon';
import { KarvdashPanel } from './panel';

export namespace CommandIDs {
  export const open = 'karvdash:open';
  export const launch = 'karvdash:launch';
}

const CATEGORY = 'Karvdash';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'karvdash-labext:plugin',
  description: 'A side panel to launch, open and stop Karvdash services from templates',
  autoStart: true,
  optional: [ILauncher, ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ) => {
    const items = new Map<string, { key: string; item: { dispose(): void } }>();

    /** The launcher's items follow the templates the panel read. */
    const syncLauncher = (templates: ITemplate[]) => {
      if (!launcher) {
        return;
      }
      const wanted = new Set<string>();
      templates.forEach((template, rank) => {
        wanted.add(template.id);
        const key = `${rank}:${template.name}:${template.description}`;
        const known = items.get(template.id);
        if (known?.key === key) {
          return;
        }
        known?.item.dispose();
        const item = launcher.add({
          command: CommandIDs.launch,
          args: { template: template.id, name: template.name, description: template.description },
          category: CATEGORY,
          rank
        });
        items.set(template.id, { key, item });
      });
      for (const [id, known] of items) {
        if (!wanted.has(id)) {
          known.item.dispose();
          items.delete(id);
        }
      }
    };

    const panel = new KarvdashPanel({
      client: new KarvdashClient(),
      templatesChanged: syncLauncher
    });
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, 'karvdash-panel');

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open Karvdash',
      caption: 'Show the Karvdash panel: your services and the templates to launch',
      icon: karvdashIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.launch, {
      label: args => (args.name as string | undefined) ?? 'Launch a Karvdash service',
      caption: args => (args.description as string | undefined) ?? '',
      icon: karvdashIcon,
      execute: args => panel.openLaunchForm(String(args.template))
    });
    palette?.addItem({ command: CommandIDs.open, category: CATEGORY });

    // the launcher's items without waiting for the panel to be shown
    if (launcher) {
      app.restored.then(() => panel.refresh(true)).catch(() => undefined);
    }
  }
};

export default plugin;
