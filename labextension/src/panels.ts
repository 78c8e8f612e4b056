/**
 * Inline panels that reopen as their static view: the renderer of our MIME type.
 *
 * The panels (`jt.runs()`, `%runs`, `jt.compare()`, live `jt.plot()`) are widgets. Their
 * bundle carries the widget view, its static view as `text/html` (what nbconvert and GitHub
 * show) and `PANEL_MIME_TYPE` (`jupyter_tracker.panels.with_static_view`). In a notebook, our
 * renderer for it ranks before the widget manager's, so JupyterLab picks it: it shows the
 * static view at once, asks the widget renderer to draw the same output off-screen, and
 * swaps to it only once it holds a view. A widget whose model the kernel no longer has (a
 * saved notebook reopened, a kernel restarted) keeps its static view: the widget manager's
 * "Error displaying widget: model not found" is never on screen.
 */

import { NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMime, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

/** The MIME type the panels add (`jupyter_tracker.panels.PANEL_MIME_TYPE`). */
export const PANEL_MIME_TYPE = 'application/vnd.jupyter-tracker.panel+json';

/** The widget view's MIME type (@jupyter-widgets/jupyterlab-manager renders it). */
export const WIDGET_MIME_TYPE = 'application/vnd.jupyter.widget-view+json';

/** JupyterLab renders the MIME type of lowest rank in a bundle; the widget view's is -10. */
const RANK = -20;

/** What a widget output reopens as while its live view is not there. */
const STATIC_MIME_TYPES = ['text/html', 'text/plain'];

/**
 * Render panels in this notebook with `PanelRenderer` (its rendermime registry is its own
 * copy, as the widget manager's renderer is).
 */
export function renderPanelsIn(panel: NotebookPanel): void {
  const rendermime = panel.content.rendermime;
  rendermime.addFactory(
    {
      // It may draw the widget (code from the kernel): trusted outputs only. An untrusted
      // one gets JupyterLab's sanitized text/html, the same static view.
      safe: false,
      mimeTypes: [PANEL_MIME_TYPE],
      createRenderer: () => new PanelRenderer(rendermime, panel.sessionContext)
    },
    RANK
  );
}

/** Whether the widget renderer ended up holding a view (not a message such as an error). */
function holdsView(renderer: Widget): boolean {
  return !renderer.children().next().done;
}

/** A panel's output: its static view, replaced by the live widget once that is drawn. */
export class PanelRenderer extends Panel implements IRenderMime.IRenderer {
  constructor(
    private readonly _rendermime: IRenderMimeRegistry,
    private readonly _sessionContext: NotebookPanel['sessionContext']
  ) {
    super();
    this.addClass('jp-TrackerPanelOutput');
  }

  /** Show the static view; then try the live one (a new model cancels the last try). */
  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const attempt = ++this._attempt;
    this._dropCandidate();
    const staticType = STATIC_MIME_TYPES.find(type => type in model.data);
    if (staticType) {
      const view = this._rendermime.createRenderer(staticType);
      await view.renderModel(model);
      if (attempt !== this._attempt || this.isDisposed) {
        view.dispose();
        return;
      }
      this._show(view);
    }
    if (WIDGET_MIME_TYPE in model.data) {
      void this._tryLive(model, attempt);
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._dropCandidate();
    super.dispose();
  }

  /** Render the widget off-screen; show it if and when it holds a view. */
  private async _tryLive(model: IRenderMime.IMimeModel, attempt: number): Promise<void> {
    const session = this._sessionContext;
    await session.ready;
    // The widget manager puts its renderer into this registry right after `ready`.
    await new Promise(resolve => setTimeout(resolve, 0));
    const current = () => attempt === this._attempt && !this.isDisposed;
    if (!current() || !session.session?.kernel) {
      return; // no kernel: nothing can hold the widget's model
    }
    if (!this._rendermime.mimeTypes.includes(WIDGET_MIME_TYPE)) {
      return; // no widget manager
    }
    const candidate = this._rendermime.createRenderer(WIDGET_MIME_TYPE);
    this._candidate = candidate;
    const swap = () => {
      if (current() && this._candidate === candidate && holdsView(candidate)) {
        this._observer?.disconnect();
        this._candidate = null;
        this._show(candidate);
      }
    };
    // The view may come later: once the widget manager has restored its models.
    this._observer = new MutationObserver(swap);
    this._observer.observe(candidate.node, { childList: true });
    try {
      await candidate.renderModel(model);
    } catch (error) {
      console.warn('jupyter-tracker: the live panel could not be drawn', error);
    }
    swap();
  }

  private _show(view: Widget): void {
    for (const old of [...this.widgets]) {
      old.dispose();
    }
    this.addWidget(view);
  }

  private _dropCandidate(): void {
    this._observer?.disconnect();
    this._observer = null;
    this._candidate?.dispose();
    this._candidate = null;
  }

  private _attempt = 0;
  private _candidate: IRenderMime.IRenderer | null = null;
  private _observer: MutationObserver | null = null;
}
