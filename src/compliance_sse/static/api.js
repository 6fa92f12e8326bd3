// Talking to the service: the API key (kept for this tab only), and errors as sentences.

const KEY_NAME = "compliance-sse.api-key";

export const config = {
  maxUploadBytes: Number(document.body.dataset.maxUploadBytes) || 10 * 1024 * 1024,
  authRequired: document.body.dataset.auth === "required",
};

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_NAME) || "";
  } catch {
    return "";
  }
}

export function setApiKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_NAME, key);
    else sessionStorage.removeItem(KEY_NAME);
  } catch {
    // storage disabled: the key is then asked for again on the next load
  }
}

/** Request headers with the API key, when there is one. */
export function authHeaders(extra = {}) {
  const headers = { ...extra };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  return headers;
}

/** An error the service answered: `detail` is a sentence for a person, `code` is for the program. */
export class ApiError extends Error {
  constructor(detail, code, status) {
    super(detail);
    this.detail = detail;
    this.code = code;
    this.status = status;
  }
}

/** The ApiError of a non-2xx response, from its JSON body, or a sentence of our own. */
export async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const detail =
    body && typeof body.detail === "string" && body.detail
      ? body.detail
      : `The server answered with status ${response.status}. Please try again.`;
  const code = body && typeof body.code === "string" ? body.code : `http_${response.status}`;
  return new ApiError(detail, code, response.status);
}

/** fetch with the API key; throws ApiError for a non-2xx answer. */
export async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: authHeaders(options.headers) });
  if (!response.ok) throw await errorFrom(response);
  return response;
}
