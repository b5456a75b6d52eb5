// Corrections: in the details panel, the analyst picks the right label on any head and sends it to
// POST /v1/feedback (only the heads changed from the model's label); the sentence then carries a "corrected" mark.
import { postFeedback } from "./api.js";
import { el } from "./dom.js";
import { HEADS, HEAD_TITLES } from "./labels.js";
import { hideMessage, showHttpError, showMessage } from "./messages.js";
import { state } from "./state.js";

const REFUSED = {
  400: "The service refused the correction.",
  413: "The sentence is too long for the service's correction limit.",
  422: "The service refused the correction.",
};

// The labels a head may take: the model's label set, from this sentence's scores and the whole answer.
function labelsOf(head, result) {
  const labels = [...(state.labels[head] || [])];
  for (const label of [result.label, ...Object.keys(result.scores || {})]) {
    if (!labels.includes(label)) labels.push(label);
  }
  return labels;
}

const describe = (labels) =>
  Object.entries(labels)
    .map(([head, label]) => `${(HEAD_TITLES[head] || head).toLowerCase()} → ${label}`)
    .join(", ");

// Mark a sentence node as corrected (a visible badge, a class, and words for screen readers), once.
export function markCorrected(node, labels) {
  if (!node || !labels) return;
  node.classList.add("corrected");
  node.dataset.corrected = Object.keys(labels).join(" ");
  let badge = node.querySelector(".corrected-mark");
  if (!badge) {
    badge = el("span", { class: "corrected-mark" }, el("span", { "aria-hidden": "true", text: "✓ corrected" }));
    badge.append(el("span", { class: "visually-hidden", text: " Corrected." }));
    node.append("\u00a0", badge);
  }
  badge.title = `corrected: ${describe(labels)}`;
}

// The form at the foot of the panel for sentence `index`: one labelled select per head and the send button.
export function correctionForm(index, sentence) {
  const heads = HEADS.filter((head) => sentence[head]);
  const sent = state.corrections.get(sentence.text);
  const status = el("p", { class: "correction-status", role: "status" });
  if (sent) status.textContent = `Correction sent: ${describe(sent)}.`;
  const form = el(
    "form",
    { class: "correction", "data-index": index, "aria-label": "Correct this sentence's labels" },
    el("h4", { text: "Correct the labels" }),
  );
  const selects = {};
  for (const head of heads) {
    const id = `correct-${head}`;
    const select = el("select", { id, name: head, "data-head": head, "data-model": sentence[head].label });
    for (const label of labelsOf(head, sentence[head])) {
      const option = el("option", { value: label, text: label === sentence[head].label ? `${label} (model)` : label });
      option.selected = label === (sent?.[head] ?? sentence[head].label);
      select.append(option);
    }
    selects[head] = select;
    form.append(el("div", { class: "correction-row" }, el("label", { for: id, text: HEAD_TITLES[head] || head }), select));
  }
  const button = el("button", { type: "submit", class: "small", text: "Send correction" });
  form.append(el("div", { class: "correction-actions" }, button), status);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(index, sentence, selects, button, status);
  });
  return form;
}

async function send(index, sentence, selects, button, status) {
  const changed = {};
  for (const [head, select] of Object.entries(selects)) {
    if (select.value !== sentence[head].label) changed[head] = select.value;
  }
  if (!Object.keys(changed).length) {
    status.textContent = "Nothing to send: pick a label other than the model's on at least one head.";
    return;
  }
  const payload = { text: sentence.text, ...changed };
  const version = state.response?.model?.version;
  if (version) payload.model_version = version;
  if (state.requestId) payload.request_id = state.requestId;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  status.textContent = "Sending…";
  let response;
  let body;
  try {
    ({ response, body } = await postFeedback(payload));
  } catch (error) {
    status.textContent = "The correction was not sent.";
    showMessage("error", "Could not reach the service to send the correction.", `${error.message || error}`);
    return;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
  if (!response.ok) {
    status.textContent = `The correction was not sent (HTTP ${response.status}).`;
    showHttpError(response.status, body, REFUSED);
    return;
  }
  hideMessage();
  state.corrections.set(sentence.text, changed);
  state.nodes.forEach((node, i) => {
    if (i === index || state.document?.sentences[i]?.text === sentence.text) markCorrected(node, changed);
  });
  status.textContent = `Correction sent: ${describe(changed)}.`;
  if (body.json?.id) status.dataset.id = body.json.id;
}
