// The analyst's page: paste an article, POST it to /v1/classify, show every sentence colored by stance.
// Plain JavaScript modules, no build step, nothing loaded from the internet. This one wires the page together:
//   api.js       the API key (session storage), the explain probe, POST /v1/classify and /v1/feedback
//   messages.js  the message box, the busy line and the service's errors
//   render.js    the article sentence by sentence, the legend
//   summary.js   the summary strip and the filters
//   relations.js the relations panel: pairs of actors, their sentences and stance shares
//   panel.js     the details panel of one sentence (probabilities, explanations, pinning)
//   correct.js   the panel's correction form, POST /v1/feedback and the sentence's corrected mark
//   keyboard.js  moving between sentences with the keys
//   download.js  JSON and CSV downloads
//   labels.js, state.js, dom.js  the heads and labels, the shared state, DOM helpers
import { apiKey, explainSupported, postClassify, requestIdOf, storedKey, storeKey } from "./api.js";
import { $ } from "./dom.js";
import { downloadCsv, downloadJson } from "./download.js";
import { onArticleKey, onPageKey } from "./keyboard.js";
import { HEADS } from "./labels.js";
import { hideMessage, setBusy, showHttpError, showMessage } from "./messages.js";
import { showDetails } from "./panel.js";
import { clearResults, render } from "./render.js";
import { state } from "./state.js";
import { applyFilters, resetFilters } from "./summary.js";

async function classify() {
  const text = $("article").value;
  if (!text.trim()) {
    clearResults();
    showMessage("error", "Paste an article first: the text box is empty.", "");
    $("article").focus();
    return;
  }
  hideMessage();
  setBusy(true);
  let response;
  let body;
  try {
    state.explainOffered = await explainSupported();
    ({ response, body } = await postClassify(text, state.explainOffered));
  } catch (error) {
    setBusy(false, "");
    clearResults();
    showMessage("error", "Could not reach the service.", `${error.message || error}`);
    return;
  }
  setBusy(false, "");
  if (!response.ok) {
    clearResults();
    showHttpError(response.status, body);
    return;
  }
  const document_ = body.json?.results?.[0];
  if (!document_ || !Array.isArray(document_.sentences)) {
    clearResults();
    showMessage("error", "The service answered in a shape this page does not know.", body.text.slice(0, 300));
    return;
  }
  if (document_.sentences.length === 0) {
    clearResults();
    showMessage("info", "The service found no sentences in this text.", "");
    return;
  }
  state.requestId = requestIdOf(response);
  render(body.json, document_);
  $("busy").hidden = false;
  $("busy").textContent = `Classified ${document_.sentences.length} sentences.`;
}

function updateCount() {
  const n = $("article").value.length;
  $("article-count").textContent = `${n.toLocaleString("en")} ${n === 1 ? "character" : "characters"}`;
}

function updateKeyStatus() {
  $("api-key-status").textContent = apiKey()
    ? "Kept in this tab's session storage; sent as a Bearer token."
    : "No key set.";
}

async function loadSample() {
  try {
    const response = await fetch("/static/sample-article.txt");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    $("article").value = (await response.text()).trim();
    updateCount();
    hideMessage();
  } catch (error) {
    showMessage("error", "Could not load the sample article.", `${error.message || error}`);
  }
}

function init() {
  const kept = storedKey();
  if (kept !== null) $("api-key").value = kept;
  updateKeyStatus();
  $("api-key").addEventListener("input", () => {
    storeKey($("api-key").value.trim());
    updateKeyStatus();
  });
  $("api-key-form").addEventListener("submit", (event) => event.preventDefault());
  $("forget-key").addEventListener("click", () => {
    $("api-key").value = "";
    storeKey("");
    updateKeyStatus();
    $("api-key").focus();
  });

  $("article").addEventListener("input", updateCount);
  $("article").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      classify();
    }
  });
  $("classify").addEventListener("click", classify);
  $("sample").addEventListener("click", loadSample);
  $("clear").addEventListener("click", () => {
    $("article").value = "";
    updateCount();
    hideMessage();
    clearResults();
    $("article").focus();
  });

  for (const head of HEADS) $(`filter-${head}`).addEventListener("change", applyFilters);
  $("filter-unsure").addEventListener("change", applyFilters);
  $("filter-reset").addEventListener("click", resetFilters);

  $("article-view").addEventListener("keydown", onArticleKey);
  $("article-view").addEventListener("mouseleave", () => {
    if (state.pinned !== null) showDetails(state.pinned, true);
  });
  document.addEventListener("keydown", onPageKey);

  $("download-json").addEventListener("click", downloadJson);
  $("download-csv").addEventListener("click", downloadCsv);
  updateCount();
  explainSupported();
}

window.addEventListener("error", (event) => {
  showMessage("error", "Something went wrong on this page.", event.message || "");
});
window.addEventListener("unhandledrejection", (event) => {
  showMessage("error", "Something went wrong on this page.", `${event.reason?.message || event.reason || ""}`);
});

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
