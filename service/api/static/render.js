// The result: the article sentence by sentence (stance color, topic chip, sentiment mark), the legend, and
// clearing it all away again.
import { markCorrected } from "./correct.js";
import { $, el } from "./dom.js";
import { HEADS, SENTIMENT_MARKS, collectLabels, cssToken, isConfident, labelClass, percent } from "./labels.js";
import { keepVisible, showDetails, showDetailsPlaceholder, togglePin, unpin } from "./panel.js";
import { renderRelations } from "./relations.js";
import { state } from "./state.js";
import { applyFilters, renderFilters, renderSummary } from "./summary.js";

// Offsets from the service count code points (Python); JavaScript strings count UTF-16 units.
function utf16Offsets(text) {
  const map = [0];
  let units = 0;
  for (const char of text) {
    units += char.length;
    map.push(units);
  }
  return map;
}

export function clearResults() {
  state.response = null;
  state.document = null;
  state.nodes = [];
  state.shown = null;
  state.pinned = null;
  $("results").hidden = true;
  $("article-view").replaceChildren();
  $("summary").replaceChildren();
  $("relations").replaceChildren();
  $("article-view").classList.remove("pair-active");
  $("busy").hidden = true;
  showDetailsPlaceholder();
}

export function render(response, document_) {
  state.response = response;
  state.document = document_;
  state.labels = collectLabels(document_);
  state.shown = null;
  state.pinned = null;

  const count = document_.sentences.length;
  const version = response.model?.version ? `model ${response.model.version}` : "";
  const explain = state.explainOffered ? "with explanations" : "";
  $("result-meta").textContent = [`${count} ${count === 1 ? "sentence" : "sentences"}`, version, explain]
    .filter(Boolean)
    .join(" · ");

  renderSummary(document_);
  renderLegend();
  renderFilters();
  renderArticle(document_);
  renderRelations(document_);
  $("article-view").classList.remove("pair-active");
  showDetailsPlaceholder();
  applyFilters();
  $("results").hidden = false;
  const top = $("results").getBoundingClientRect().top;
  if (top > window.innerHeight * 0.6) {
    const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    $("results").scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "start" });
  }
}

function renderLegend() {
  const legend = $("legend");
  legend.replaceChildren(el("span", { class: "legend-title", text: "Stance colors:" }));
  for (const label of state.labels.stance) {
    legend.append(
      el(
        "span",
        { class: "legend-item", "data-stance": label },
        el("span", { class: `swatch ${labelClass("stance", label)}`, "aria-hidden": "true" }),
        label,
      ),
    );
  }
  legend.append(
    el(
      "span",
      { class: "legend-item" },
      el("span", { class: "sample-sentence stance-neutral low-confidence", "aria-hidden": "true", text: "sentence" }),
      "not confident",
    ),
    el("span", { class: "legend-item" }, el("span", { class: "chip", text: "topic" }), "topic"),
    el(
      "span",
      { class: "legend-item" },
      "sentiment ",
      ...Object.entries(SENTIMENT_MARKS).flatMap(([label, mark]) => [
        el("span", { class: `mark sentiment-${label}`, "aria-hidden": "true", text: mark }),
        ` ${label} `,
      ]),
    ),
  );
}

function renderArticle(document_) {
  const view = $("article-view");
  view.replaceChildren();
  const text = typeof document_.text === "string" ? document_.text : $("article").value;
  const units = utf16Offsets(text);
  let cursor = 0;
  state.nodes = document_.sentences.map((sentence, index) => {
    let start = units[sentence.start];
    let end = units[sentence.end];
    if (start === undefined || end === undefined || text.slice(start, end) !== sentence.text) {
      start = text.indexOf(sentence.text, cursor);
      end = start < 0 ? -1 : start + sentence.text.length;
    }
    if (start >= cursor) {
      const gap = text.slice(cursor, start);
      if (index > 0 || gap.trim()) view.append(document.createTextNode(index > 0 ? gap : gap.trimStart()));
      cursor = end;
    } else if (index > 0) {
      view.append(document.createTextNode(" "));
    }
    const node = sentenceNode(sentence, index);
    view.append(node);
    return node;
  });
  const rest = text.slice(cursor);
  if (rest.trim()) view.append(document.createTextNode(rest.trimEnd()));
}

function sentenceNode(sentence, index) {
  const stance = sentence.stance;
  const topic = sentence.topic;
  const sentiment = sentence.sentiment;
  const unsure = HEADS.filter((head) => sentence[head] && !isConfident(sentence[head]));
  const classes = ["sentence"];
  if (stance) classes.push(labelClass("stance", stance.label));
  if (stance && !isConfident(stance)) classes.push("low-confidence");
  const node = el("span", {
    class: classes.join(" "),
    tabindex: "0",
    role: "button",
    "aria-pressed": "false",
    "data-index": index,
    "data-stance": stance?.label,
    "data-topic": topic?.label,
    "data-sentiment": sentiment?.label,
    "data-confident": unsure.length ? "false" : "true",
    "data-unsure": unsure.join(" ") || undefined,
  });
  if (stance) node.append(el("span", { class: "visually-hidden", text: `Stance ${stance.label}. ` }));
  if (topic) {
    node.append(
      el(
        "span",
        { class: `chip ${labelClass("topic", topic.label)}${isConfident(topic) ? "" : " unsure"}` },
        el("span", { class: "visually-hidden", text: "Topic " }),
        topic.label,
        isConfident(topic) ? null : el("span", { class: "unsure-mark", text: "?", title: "not confident" }),
      ),
      " ",
    );
  }
  node.append(sentenceText(sentence));
  if (sentiment) {
    node.append(
      "\u00a0", // no line break between a sentence's last word and its sentiment mark
      el(
        "span",
        {
          class: `mark sentiment-${cssToken(sentiment.label)}${isConfident(sentiment) ? "" : " unsure"}`,
          title: `sentiment: ${sentiment.label} (${percent(sentiment.score)})`,
        },
        el("span", { "aria-hidden": "true", text: SENTIMENT_MARKS[sentiment.label] || "◆" }),
        el("span", { class: "visually-hidden", text: ` Sentiment ${sentiment.label}.` }),
      ),
    );
  }
  if (stance && !isConfident(stance)) {
    node.append(el("span", { class: "visually-hidden", text: " The model is not confident of this stance." }));
  }
  if (state.corrections.has(sentence.text)) markCorrected(node, state.corrections.get(sentence.text));
  node.addEventListener("mouseenter", () => showDetails(index));
  node.addEventListener("focus", () => {
    if (state.quietFocus) return;
    if (state.pinned !== null && state.pinned !== index) unpin();
    showDetails(index);
    keepVisible(node);
  });
  node.addEventListener("click", () => togglePin(index));
  return node;
}

// The sentence's words, each actor mention marked (offsets are the document's, in code points).
function sentenceText(sentence) {
  const box = el("span", { class: "sentence-text" });
  const chars = Array.from(sentence.text);
  let cursor = 0;
  for (const actor of sentence.actors || []) {
    const start = actor.start - sentence.start;
    const end = actor.end - sentence.start;
    if (start < cursor || end > chars.length || chars.slice(start, end).join("") !== actor.text) continue;
    box.append(chars.slice(cursor, start).join(""));
    box.append(el("span", { class: "actor", "data-actor": actor.id, title: `${actor.name} (${actor.id})`, text: actor.text }));
    cursor = end;
  }
  box.append(chars.slice(cursor).join(""));
  return box;
}
