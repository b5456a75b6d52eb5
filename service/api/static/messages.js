// The message box and the busy line: what the page tells the analyst, including the service's own errors.
import { $, el } from "./dom.js";

export function showMessage(kind, title, detail) {
  const box = $("message");
  box.replaceChildren(el("strong", { text: title }));
  if (detail) box.append(el("span", { class: "detail", text: detail }));
  box.className = `message ${kind}`;
  box.dataset.kind = kind;
  box.hidden = false;
}

export function hideMessage() {
  const box = $("message");
  box.hidden = true;
  box.replaceChildren();
  delete box.dataset.kind;
}

export function setBusy(busy, text = "Classifying…") {
  $("classify").disabled = busy;
  $("classify").setAttribute("aria-busy", busy ? "true" : "false");
  $("busy").textContent = text;
  $("busy").hidden = !busy && !text;
}

// The server's explanation of a failed request: FastAPI's {"detail": "..."} or {"detail": [errors]},
// or a problem-details body {"type", "title", "status", "detail"}.
function errorDetail(body) {
  const { json, text } = body;
  if (json && typeof json === "object") {
    const { detail, title } = json;
    if (typeof detail === "string" && typeof title === "string" && title !== detail) return `${title}: ${detail}`;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((item) => {
          if (!item || typeof item !== "object") return String(item);
          const where = Array.isArray(item.loc) ? item.loc.filter((part) => part !== "body").join(".") : "";
          const message = String(item.msg ?? JSON.stringify(item)).replace(/^Value error, /, "");
          return where ? `${where}: ${message}` : message;
        })
        .join("; ");
    }
    if (typeof title === "string") return title;
    if (detail !== undefined) return JSON.stringify(detail);
  }
  return (text || "").trim().slice(0, 300);
}

// `own` replaces the title of some statuses (e.g. {422: "The service refused the correction."}).
export function showHttpError(status, body, own = {}) {
  const detail = errorDetail(body);
  const titles = {
    400: "The service refused the request.",
    401: "The service needs an API key: enter it in the API key field at the top.",
    403: "The service refused this API key.",
    413: "The article is too long for the service.",
    422: "The service could not accept this text.",
    429: "Too many requests: wait a moment and try again.",
    503: "The service is not ready yet.",
  };
  const title =
    own[status] ||
    titles[status] || (status >= 500 ? `The service failed (HTTP ${status}).` : `The request failed (HTTP ${status}).`);
  showMessage("error", title, detail ? `Server said: ${detail}` : "");
  if (status === 401 || status === 403) $("api-key").focus();
}
