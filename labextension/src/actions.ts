/**
 * What the sidebar's context menu does to a run through the REST API, with its dialogs:
 * delete (confirmed; a RUNNING run's 409 explained), restore, set a tag, export.
 */

import { Dialog, InputDialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { el } from './dom';
import { encodePath } from './format';
import { requestAPI } from './handler';
import { deletePrompt } from './menu';
import { IExportResult, IRunRecord, IRunState, IRunTags } from './tokens';

type RunRef = Pick<IRunRecord, 'run_id' | 'name'>;

function runPath(runId: string, ...rest: string[]): string {
  return ['runs', encodeURIComponent(runId), ...rest].join('/');
}

function statusOf(error: unknown): number | undefined {
  return error instanceof ServerConnection.ResponseError ? error.response.status : undefined;
}

/** Delete `run` once confirmed; the new state, or null (cancelled or refused, said why). */
export async function deleteRun(run: RunRef): Promise<IRunState | null> {
  const answer = await showDialog({
    title: 'Delete run',
    body: deletePrompt(run),
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
  });
  if (!answer.button.accept) {
    return null;
  }
  try {
    return await requestAPI<IRunState>(runPath(run.run_id), { method: 'DELETE' });
  } catch (error) {
    const title = statusOf(error) === 409 ? 'This run is still running' : 'Delete run';
    void showErrorMessage(title, (error as Error).message);
    return null;
  }
}

/** Bring a deleted run back; its new state, or null (the error shown). */
export async function restoreRun(run: RunRef): Promise<IRunState | null> {
  try {
    return await requestAPI<IRunState>(runPath(run.run_id, 'restore'), { method: 'POST' });
  } catch (error) {
    void showErrorMessage('Restore run', (error as Error).message);
    return null;
  }
}

/** The set-tag dialog's body: a key and a value. */
class TagForm extends Widget implements Dialog.IBodyWidget<{ key: string; value: string }> {
  constructor(key: string) {
    super();
    this.addClass('jp-TrackerTagDialog');
    this._key.value = key;
    this._key.placeholder = 'key';
    this._key.setAttribute('aria-label', 'Tag key');
    this._value.placeholder = 'value';
    this._value.setAttribute('aria-label', 'Tag value');
    const keyLabel = el('label', '', 'Key');
    const valueLabel = el('label', '', 'Value');
    this.node.append(keyLabel, this._key, valueLabel, this._value);
  }

  getValue(): { key: string; value: string } {
    return { key: this._key.value.trim(), value: this._value.value };
  }

  /** Focus the key (or the value when a key is given), as the dialog opens. */
  protected onAfterAttach(): void {
    (this._key.value ? this._value : this._key).focus();
  }

  private _key = el('input', 'jp-TrackerTagDialog-key');
  private _value = el('input', 'jp-TrackerTagDialog-value');
}

/** Ask a tag's key and value and set it; the run's tags, or null (cancelled, or the error shown). */
export async function setTag(run: RunRef, key = ''): Promise<IRunTags | null> {
  const answer = await showDialog({
    title: `Set a tag on ${run.name || run.run_id.slice(0, 8)}`,
    body: new TagForm(key),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Set tag' })],
    focusNodeSelector: key ? '.jp-TrackerTagDialog-value' : '.jp-TrackerTagDialog-key'
  });
  if (!answer.button.accept || !answer.value) {
    return null;
  }
  const { key: k, value } = answer.value;
  if (!k) {
    void showErrorMessage('Set tag', 'A tag needs a key.');
    return null;
  }
  try {
    return await requestAPI<IRunTags>(runPath(run.run_id, 'tags', encodePath(k)), {
      method: 'PUT',
      body: JSON.stringify({ value })
    });
  } catch (error) {
    void showErrorMessage('Set tag', (error as Error).message);
    return null;
  }
}

/** Ask a folder under the server root and export the run there; the result, or null. */
export async function exportRun(run: RunRef): Promise<IExportResult | null> {
  const suggested = `exports/${(run.name || 'run').replace(/[^\w.-]+/g, '_')}-${run.run_id.slice(0, 8)}`;
  const answer = await InputDialog.getText({
    title: 'Export run to a folder (relative to the server root)',
    text: suggested,
    okLabel: 'Export'
  });
  if (!answer.button.accept || !answer.value) {
    return null;
  }
  try {
    return await requestAPI<IExportResult>(runPath(run.run_id, 'export'), {
      method: 'POST',
      body: JSON.stringify({ directory: answer.value })
    });
  } catch (error) {
    void showErrorMessage('Export run', (error as Error).message);
    return null;
  }
}
