/**
 * The sidebar plugin: the Experiments panel, the run and compare views in the main area,
 * and the commands (open, compare, go to cell, export, "Track this cell") with their
 * context-menu and palette entries.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, InputDialog, MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { CompareView } from './compare';
import { requestAPI } from './handler';
import { COMPARE_MAX, COMPARE_MIN, ExperimentsPanel } from './panel';
import { RunView, serverRelative } from './runview';
import { IExportResult, IRunDetail } from './tokens';

export const CommandIDs = {
  open: 'jupyter-tracker:open-run',
  compare: 'jupyter-tracker:compare-runs',
  goToCell: 'jupyter-tracker:go-to-cell',
  exportRun: 'jupyter-tracker:export-run',
  trackCell: 'jupyter-tracker:track-cell'
};

const LOAD_EXT = '%load_ext jupyter_tracker';

/** The run id of the sidebar row a context menu was opened on, or of the command's args. */
function runIdOf(app: JupyterFrontEnd, args: Record<string, unknown>): string | undefined {
  if (typeof args.runId === 'string') {
    return args.runId;
  }
  const node = app.contextMenuHitTest(n => !!n.dataset?.runId);
  return node?.dataset.runId;
}

/** Open the run's notebook and bring its cell into view; a sentence when that fails. */
async function goToCell(app: JupyterFrontEnd, run: IRunDetail): Promise<string | null> {
  if (!run.notebook) {
    return 'This run was not made by a notebook cell.';
  }
  const path = serverRelative(run.notebook);
  let widget: Widget | undefined;
  try {
    widget = await app.commands.execute('docmanager:open', { path });
  } catch (error) {
    return `Could not open ${path}: ${(error as Error).message}`;
  }
  if (!(widget instanceof NotebookPanel)) {
    return `${path} did not open as a notebook.`;
  }
  await widget.context.ready;
  await widget.revealed;
  app.shell.activateById(widget.id);
  const notebook = widget.content;
  const index = notebook.widgets.findIndex(cell => cell.model.id === run.cell_id);
  if (index < 0) {
    return `The cell that made this run (id ${run.cell_id ?? 'unknown'}) no longer exists in ${path}.`;
  }
  notebook.activeCellIndex = index;
  notebook.mode = 'command';
  await notebook.scrollToItem(index, 'center');
  return null;
}

/** `%%track_run` at the top of the active cell, and `%load_ext` above the first cell if needed. */
function trackActiveCell(tracker: INotebookTracker): void {
  const panel = tracker.currentWidget;
  const cell = panel?.content.activeCell;
  if (!panel || !cell || cell.model.type !== 'code') {
    return;
  }
  const source = cell.model.sharedModel.getSource();
  if (!/^%%track_(run|sweep)\b/.test(source)) {
    cell.model.sharedModel.setSource(`%%track_run\n${source}`);
  }
  const loaded = panel.content.widgets.some(c =>
    c.model.sharedModel.getSource().split('\n').some(line => line.trim() === LOAD_EXT)
  );
  if (!loaded) {
    panel.content.model?.sharedModel.insertCell(0, { cell_type: 'code', source: LOAD_EXT });
  }
}

export const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-tracker:sidebar',
  description: 'The Experiments sidebar: runs in the jupyter-tracker store, run and compare views.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ) => {
    const views = new Map<string, MainAreaWidget>();
    const show = (key: string, make: () => Widget) => {
      const existing = views.get(key);
      if (existing && !existing.isDisposed) {
        app.shell.activateById(existing.id);
        return existing;
      }
      const widget = new MainAreaWidget({ content: make() });
      widget.id = `jupyter-tracker-${key}-${Date.now()}`;
      widget.title.label = widget.content.title.label;
      widget.content.title.changed.connect(() => (widget.title.label = widget.content.title.label));
      widget.title.closable = true;
      views.set(key, widget);
      widget.disposed.connect(() => views.delete(key));
      app.shell.add(widget, 'main');
      app.shell.activateById(widget.id);
      return widget;
    };
    const openRun = (runId: string) =>
      show(`run-${runId}`, () => new RunView(runId, { openRun, goToCell: run => goToCell(app, run) }));
    const compare = (ids: string[]) => {
      if (ids.length < COMPARE_MIN || ids.length > COMPARE_MAX) {
        void showErrorMessage('Compare runs', `Tick ${COMPARE_MIN} to ${COMPARE_MAX} runs to compare.`);
        return;
      }
      show(`compare-${ids.join(',')}`, () => new CompareView(ids, openRun));
    };

    const panel = new ExperimentsPanel({
      notebookPath: () => tracker.currentWidget?.context.path ?? null,
      openRun,
      compare
    });
    app.shell.add(panel, 'left', { rank: 700 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }
    tracker.currentChanged.connect(() => panel.notebookChanged());
    NotebookActions.executionScheduled.connect(() => panel.nudge());
    NotebookActions.executed.connect(() => panel.nudge());

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open Run',
      execute: args => {
        const id = runIdOf(app, args);
        if (id) {
          openRun(id);
        }
      }
    });
    app.commands.addCommand(CommandIDs.compare, {
      label: 'Compare Selected Runs',
      isEnabled: () => panel.selectedIds.length >= COMPARE_MIN,
      execute: () => compare(panel.selectedIds)
    });
    app.commands.addCommand(CommandIDs.goToCell, {
      label: 'Go to Cell',
      execute: async args => {
        const id = runIdOf(app, args);
        if (!id) {
          return;
        }
        const run = await requestAPI<IRunDetail>(`runs/${encodeURIComponent(id)}`);
        const message = await goToCell(app, run);
        if (message) {
          void showErrorMessage('Go to cell', message);
        }
      }
    });
    app.commands.addCommand(CommandIDs.exportRun, {
      label: 'Export Run…',
      execute: async args => {
        const id = runIdOf(app, args);
        if (!id) {
          return;
        }
        const run = panel.runOf(document.querySelector(`.jp-TrackerRun[data-run-id="${CSS.escape(id)}"]`));
        const suggested = `exports/${(run?.name || 'run').replace(/[^\w.-]+/g, '_')}-${id.slice(0, 8)}`;
        const answer = await InputDialog.getText({
          title: 'Export run to a folder (relative to the server root)',
          text: suggested,
          okLabel: 'Export'
        });
        if (!answer.button.accept || !answer.value) {
          return;
        }
        try {
          const result = await requestAPI<IExportResult>(`runs/${encodeURIComponent(id)}/export`, {
            method: 'POST',
            body: JSON.stringify({ directory: answer.value })
          });
          await app.commands.execute('docmanager:open', { path: `${result.directory}/README.md` });
        } catch (error) {
          void showErrorMessage('Export run', (error as Error).message);
        }
      }
    });
    app.commands.addCommand(CommandIDs.trackCell, {
      label: 'Track This Cell',
      caption: 'Put %%track_run at the top of the active cell (and load jupyter_tracker)',
      isEnabled: () => tracker.currentWidget?.content.activeCell?.model.type === 'code',
      execute: () => trackActiveCell(tracker)
    });

    const selector = '.jp-TrackerRun';
    [CommandIDs.open, CommandIDs.goToCell, CommandIDs.exportRun, CommandIDs.compare].forEach((command, rank) =>
      app.contextMenu.addItem({ command, selector, rank })
    );
    app.contextMenu.addItem({ command: CommandIDs.trackCell, selector: '.jp-Notebook .jp-CodeCell', rank: 20 });
    if (palette) {
      palette.addItem({ command: CommandIDs.trackCell, category: 'Experiments' });
      palette.addItem({ command: CommandIDs.compare, category: 'Experiments' });
    }
  }
};
