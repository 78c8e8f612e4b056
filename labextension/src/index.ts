import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

import { ExperimentsPanel } from './panel';

/** Adds the "Experiments" panel to the left sidebar. */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-tracker:sidebar',
  description: 'The Experiments sidebar: runs in the jupyter-tracker store.',
  autoStart: true,
  optional: [ILayoutRestorer],
  activate: (app: JupyterFrontEnd, restorer: ILayoutRestorer | null) => {
    const panel = new ExperimentsPanel();
    app.shell.add(panel, 'left', { rank: 700 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }
  }
};

export default plugin;
