import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { keepCardsCurrent } from './cards';
import { renderPanelsIn } from './panels';
import { sidebarPlugin } from './sidebar';

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

export default [sidebarPlugin, notebooks];
