import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { keepCardsCurrent } from './cards';
import { ExperimentsPanel } from './panel';
import { renderPanelsIn } from './panels';

/** Adds the "Experiments" panel to the left sidebar. */
const sidebar: JupyterFrontEndPlugin<void> = {
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

/**
 * Saved notebooks that stay readable: inline panels show their static view until their
 * widget can be drawn (panels.ts), and run cards left unfinished by a dead kernel are
 * brought up to date from the store (cards.ts).
 */
const notebooks: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-tracker:notebook-outputs',
  description: 'Inline panels and run cards that stay readable in saved notebooks.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    const follow = (panel: NotebookPanel) => {
      renderPanelsIn(panel);
      keepCardsCurrent(panel);
    };
    tracker.forEach(follow);
    tracker.widgetAdded.connect((_, panel) => follow(panel));
  }
};

export default [sidebar, notebooks];
