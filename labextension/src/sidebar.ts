/**
 * The sidebar plugin: the Experiments panel, the run and compare views in the main area,
 * and the commands (open, compare, go to cell, export, set tag, delete, restore, "Track
 * this cell") with their context-menu, palette and cell-toolbar entries.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, showErrorMessage } from '@jupyterlab/apputils';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { deleteRun, exportRun, restoreRun, setTag } from './actions';
import { CompareView } from './compare';
import { requestAPI } from './handler';
import { actionEnabled, COMPARE_MAX, COMPARE_MIN, RUN_ACTIONS, RunAction } from './menu';
import { experimentsIcon, ExperimentsPanel } from './panel';
import { RunView, serverRelative } from './runview';
import { IRunDetail } from './tokens';

export const CommandIDs: Record<RunAction | 'trackCell', string> = {
  open: 'jupyter-tracker:open-run',
  compare: 'jupyter-tracker:compare-runs',
  goToCell: 'jupyter-tracker:go-to-cell',
  exportRun: 'jupyter-tracker:export-run',
  setTag: 'jupyter-tracker:set-tag',
  deleteRun: 'jupyter-tracker:delete-run',
  restoreRun: 'jupyter-tracker:restore-run',
  trackCell: 'jupyter-tracker:track-cell'
};

const LOAD_EXT = '%load_ext jupyter_tracker';

/** The run id of the command's args, or of the sidebar row a context menu was opened on. */
function runIdOf(panel: ExperimentsPanel, args: Record<string, unknown>): string | undefined {
  return typeof args.runId === 'string' ? args.runId : panel.menuRunId;
}

/** Open the run's notebook and bring its cell into view; a sentence when that fails. */
async function goToCell(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  run: IRunDetail
): Promise<string | null> {
  if (!run.notebook) {
    return 'This run was not made by a notebook cell.';
  }
  const open: string[] = [];
  tracker.forEach(panel => open.push(panel.context.path));
  const path = serverRelative(run.notebook, open);
  let widget: Widget | undefined;
  try {
    widget = await app.commands.execute('docmanager:open', { path });
  } catch (error) {
    return `Could not open ${path}: ${(error as Error).message}`;
  }
  if (!(widget instanceof NotebookPanel)) {
    return `${path} did not open as a notebook.`;
  }
  // Notebook 7 opens a notebook other than its page's in a new browser tab, and disposes
  // the widget it made here.
  const panel = widget;
  const gone = new Promise<void>(resolve => panel.disposed.connect(() => resolve()));
  await Promise.race([Promise.all([panel.context.ready, panel.revealed]), gone]);
  if (widget.isDisposed) {
    return `${path} opened in a new browser tab: the run's cell there has id ${run.cell_id ?? 'unknown'}.`;
  }
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

/**
 * `%%track_run` at the top of the active cell; `%load_ext jupyter_tracker` above the first
 * cell if no cell has it, and run quietly in the kernel (if one is running) so the cell can
 * be run at once.
 */
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
  panel.sessionContext.session?.kernel?.requestExecute({
    code: LOAD_EXT,
    silent: true,
    store_history: false
  });
}

export const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-tracker:sidebar',
  description: 'The Experiments sidebar: runs in the jupyter-tracker store, run and compare views.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette, IEditorLanguageRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    languages: IEditorLanguageRegistry | null
  ) => {
    const views = new Map<string, MainAreaWidget>();
    const show = (key: string, make: () => Widget) => {
      const existing = views.get(key);
      if (existing && !existing.isDisposed) {
        app.shell.activateById(existing.id);
        return existing;
      }
      const widget = new MainAreaWidget({ content: make() });
      widget.addClass('jp-TrackerMainArea');
      widget.id = `jupyter-tracker-${key}-${Date.now()}`;
      widget.title.label = widget.content.title.label;
      widget.content.title.changed.connect(() => (widget.title.label = widget.content.title.label));
      widget.title.closable = true;
      views.set(key, widget);
      widget.disposed.connect(() => views.delete(key));
      app.shell.add(widget, 'main');
      if (![...app.shell.widgets('main')].includes(widget)) {
        // Notebook 7's pages keep their one document in the main area (the shell ignores
        // another): the view opens in the panel below it, beside the log console.
        app.shell.add(widget, 'down');
      }
      app.shell.activateById(widget.id);
      return widget;
    };
    const openRun = (runId: string) =>
      show(`run-${runId}`, () =>
        new RunView(runId, {
          openRun,
          goToCell: run => goToCell(app, tracker, run),
          restore: async id => void (await app.commands.execute(CommandIDs.restoreRun, { runId: id })),
          languages
        })
      );
    /** Read the run's open view again (its tags or its deletion changed). */
    const reloadView = (runId: string) => {
      const view = views.get(`run-${runId}`)?.content;
      if (view instanceof RunView) {
        void view.load();
      }
    };
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
      compare,
      deleteRun: runId => void app.commands.execute(CommandIDs.deleteRun, { runId })
    });
    app.shell.add(panel, 'left', { rank: 700 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }
    tracker.currentChanged.connect(() => panel.notebookChanged());
    NotebookActions.executionScheduled.connect(() => panel.nudge());
    NotebookActions.executed.connect(() => panel.nudge());

    /** The run a command is for: its `runId` argument, else the row right-clicked. */
    const target = (args: Record<string, unknown>) => {
      const id = runIdOf(panel, args);
      const run = panel.runById(id) ?? (id ? { run_id: id, name: '' } : undefined);
      return { id, run };
    };
    const enabled = (action: RunAction) => (args: Record<string, unknown>) =>
      actionEnabled(action, {
        run: panel.runById(runIdOf(panel, args)),
        view: panel.view,
        selected: panel.selectedIds.length
      });

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open Run',
      isEnabled: enabled('open'),
      execute: args => {
        const { id } = target(args);
        if (id) {
          openRun(id);
        }
      }
    });
    app.commands.addCommand(CommandIDs.compare, {
      label: 'Compare Selected Runs',
      isEnabled: enabled('compare'),
      execute: () => compare(panel.selectedIds)
    });
    app.commands.addCommand(CommandIDs.goToCell, {
      label: 'Go to Cell',
      isEnabled: enabled('goToCell'),
      execute: async args => {
        const { id } = target(args);
        if (!id) {
          return;
        }
        let message: string | null;
        try {
          message = await goToCell(app, tracker, await requestAPI<IRunDetail>(`runs/${encodeURIComponent(id)}`));
        } catch (error) {
          message = (error as Error).message;
        }
        if (message) {
          void showErrorMessage('Go to cell', message);
        }
      }
    });
    app.commands.addCommand(CommandIDs.exportRun, {
      label: 'Export Run…',
      isEnabled: enabled('exportRun'),
      execute: async args => {
        const { run } = target(args);
        const result = run && (await exportRun(run));
        if (result) {
          await app.commands.execute('docmanager:open', { path: `${result.directory}/README.md` });
        }
      }
    });
    app.commands.addCommand(CommandIDs.setTag, {
      label: 'Set Tag…',
      isEnabled: enabled('setTag'),
      execute: async args => {
        const { run } = target(args);
        const key = typeof args.key === 'string' ? args.key : '';
        if (run && (await setTag(run, key))) {
          void panel.refresh();
          reloadView(run.run_id);
        }
      }
    });
    app.commands.addCommand(CommandIDs.deleteRun, {
      label: 'Delete Run…',
      isEnabled: enabled('deleteRun'),
      execute: async args => {
        const { run } = target(args);
        if (run && (await deleteRun(run))) {
          panel.runMoved(run.run_id);
          reloadView(run.run_id);
        }
      }
    });
    app.commands.addCommand(CommandIDs.restoreRun, {
      label: 'Restore Run',
      isEnabled: enabled('restoreRun'),
      execute: async args => {
        const { run } = target(args);
        if (run && (await restoreRun(run))) {
          panel.runMoved(run.run_id);
          reloadView(run.run_id);
        }
      }
    });
    app.commands.addCommand(CommandIDs.trackCell, {
      label: 'Track This Cell',
      icon: args => (args.toolbar ? experimentsIcon : undefined),
      caption: 'Put %%track_run at the top of the active cell (and load jupyter_tracker)',
      isEnabled: () => tracker.currentWidget?.content.activeCell?.model.type === 'code',
      execute: () => trackActiveCell(tracker)
    });

    const selector = '.jp-TrackerRun';
    RUN_ACTIONS.forEach((action, rank) =>
      app.contextMenu.addItem({ command: CommandIDs[action], selector, rank })
    );
    app.contextMenu.addItem({ command: CommandIDs.trackCell, selector: '.jp-Notebook .jp-CodeCell', rank: 20 });
    if (palette) {
      palette.addItem({ command: CommandIDs.trackCell, category: 'Experiments' });
      palette.addItem({ command: CommandIDs.compare, category: 'Experiments' });
    }
  }
};
