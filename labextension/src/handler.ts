import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The server extension's REST namespace (see jupyter_tracker/server/handlers.py). */
export const API_NAMESPACE = 'jupyter-tracker/api';

/**
 * Call the server extension: the one place the frontend talks to it.
 *
 * Requests go through `ServerConnection`, so they carry Jupyter's token or
 * session cookie and the XSRF header like every other JupyterLab request.
 *
 * @param endPoint path under `/jupyter-tracker/api/`, with its query string
 * @param init options of the request (method, body, ...)
 * @param settings the server settings; by default the page's own server
 * @returns the response body parsed as JSON
 */
export async function requestAPI<T>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      console.warn('jupyter-tracker: not a JSON response', response.url);
    }
  }
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response, data?.error ?? data?.message ?? text);
  }
  return data as T;
}
