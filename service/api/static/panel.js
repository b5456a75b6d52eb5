// The details panel: one sentence's probabilities for every label and the words behind them, and the form to
// correct its labels (correct.js); hover, focus and pin.
import { correctionForm } from "./correct.js";
import { $, el } from "./dom.js";
import { HEADS, HEAD_TITLES, isConfident, labelClass, percent } from "./labels.js";
import { state } from "./state.js";

const EXPLAIN_WORDS = 8;

export function showDetailsPlaceholder() {
  $("details").replaceChildren(
    el("p", {
      class: "hint",
      id: "details-empty",
      text: "Hover, click or focus a sentence to see the probabilities of every label and the words behind them.",
    }),
  );
  $("details").classList.remove("open");
  delete $("details").dataset.shows;
  document.body.classList.remove("details-open");
}

// On a small screen the details sheet covers the bottom of the window: keep the sentence above it.
export function keepVisible(node) {
  if (!window.matchMedia("(max-width: 900px)").matches) return;
  const sheet = $("details").getBoundingClientRect();
  const box = node.getBoundingClientRect();
  if (box.bottom > sheet.top - 8) window.scrollBy(0, box.bottom - sheet.top + 16);
  else if (box.top < 0) window.scrollBy(0, box.top - 16);
}

export function unpin() {
  state.pinned = null;
  state.nodes.forEach((node) => node.setAttribute("aria-pressed", "false"));
}

export function togglePin(index) {
  state.pinned = state.pinned === index ? null : index;
  state.nodes.forEach((node, i) => node.setAttribute("aria-pressed", i === state.pinned ? "true" : "false"));
  showDetails(index, true);
  keepVisible(state.nodes[index]);
}

export function showDetails(index, force = false) {
  if (!force && state.pinned !== null && state.pinned !== index) return;
  const sentence = state.document?.sentences[index];
  if (!sentence) return;
  state.shown = index;
  state.nodes.forEach((node, i) => node.classList.toggle("active", i === index));
  const panel = $("details");
  panel.classList.add("open");
  document.body.classList.add("details-open");
  const pinned = state.pinned === index;
  // Already showing this sentence as it is: keep the panel (and the analyst's half-made correction and focus).
  const shows = `${index} ${pinned} ${state.corrections.has(sentence.text)}`;
  if (panel.dataset.shows === shows && panel.querySelector(".details-head")) return;
  panel.dataset.shows = shows;
  const header = el(
    "div",
    { class: "details-head" },
    el("h3", { text: `Sentence ${index + 1} of ${state.nodes.length}` }),
    pinned ? el("span", { class: "badge", text: "pinned" }) : null,
    state.corrections.has(sentence.text) ? el("span", { class: "badge corrected", text: "corrected" }) : null,
    el("button", {
      type: "button",
      class: "secondary small close",
      text: pinned ? "Unpin" : "Close",
      "aria-label": pinned ? "Unpin this sentence" : "Close the details",
    }),
  );
  header.querySelector("button").addEventListener("click", () => {
    const node = state.nodes[index];
    unpin();
    node.classList.remove("active");
    showDetailsPlaceholder();
    state.quietFocus = true;
    node.focus({ preventScroll: true });
    state.quietFocus = false;
  });
  const heads = HEADS.filter((head) => sentence[head]).map((head) => headDetails(head, sentence[head]));
  const note =
    state.explainOffered || HEADS.some((head) => Array.isArray(sentence[head]?.explain))
      ? null
      : el("p", { class: "hint", text: "This service does not return the words behind each label." });
  panel.replaceChildren(
    header,
    el("blockquote", { class: `quote ${labelClass("stance", sentence.stance?.label)}`, text: sentence.text }),
    actorsNode(sentence),
    ...heads,
    ...(note ? [note] : []), // replaceChildren would write a null as the text "null"
    correctionForm(index, sentence),
  );
}

function headDetails(head, result) {
  const confident = isConfident(result);
  const scores = result.scores || { [result.label]: result.score };
  const ordered = Object.entries(scores).sort((a, b) => b[1] - a[1]);
  const bars = el("ul", { class: "bars" });
  for (const [label, probability] of ordered) {
    const p = Math.max(0, Math.min(1, Number(probability) || 0));
    bars.append(
      el(
        "li",
        { class: label === result.label ? "chosen" : "", "data-label": label, "data-probability": p },
        el("span", { class: "bar-label", text: label }),
        el(
          "span",
          { class: "bar", "aria-hidden": "true" },
          el("span", { class: `fill swatch ${labelClass(head, label)}`, style: { width: `${p * 100}%` } }),
        ),
        el("span", { class: "bar-value", text: percent(p) }),
      ),
    );
  }
  const section = el(
    "section",
    { class: "head-detail", "data-head": head, "data-confident": confident ? "true" : "false" },
    el(
      "h4",
      {},
      `${HEAD_TITLES[head] || head}: `,
      el("strong", { text: result.label }),
      ` ${percent(result.score)}`,
      confident ? null : el("span", { class: "badge unsure", text: "not confident" }),
    ),
    bars,
  );
  if (Array.isArray(result.explain)) section.append(explainNode(result));
  return section;
}

function explainNode(result) {
  const words = result.explain
    .filter((item) => item && typeof item.feature === "string")
    .map((item) => ({ feature: item.feature, weight: Number(item.weight) || 0 }))
    .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight))
    .slice(0, EXPLAIN_WORDS);
  const box = el("div", { class: "why" });
  if (!words.length) {
    box.append(el("span", { class: "hint", text: "No single word stood out." }));
    return box;
  }
  const pro = words.filter((word) => word.weight >= 0);
  const contra = words.filter((word) => word.weight < 0);
  const list = (items, kind) =>
    el(
      "span",
      { class: "words" },
      ...items.map((word) =>
        el("span", {
          class: `word ${kind}`,
          text: word.feature,
          title: `weight ${word.weight.toFixed(3)}`,
          "data-weight": word.weight,
        }),
      ),
    );
  if (pro.length) box.append(el("span", { class: "why-label", text: `Words for “${result.label}”:` }), list(pro, "for"));
  if (contra.length) box.append(el("span", { class: "why-label", text: "Words against:" }), list(contra, "against"));
  return box;
}

function actorsNode(sentence) {
  const actors = sentence.actors || [];
  const box = el("p", { class: "actors" }, el("span", { class: "why-label", text: "Actors: " }));
  if (!actors.length) box.append(el("span", { class: "hint", text: "none named" }));
  for (const actor of actors) {
    const type = actor.type === "organisation" ? "organisation" : "state";
    box.append(el("span", { class: "actor-item", "data-actor": actor.id, title: `${type}, “${actor.text}”`, text: `${actor.name} (${actor.id})` }));
  }
  return box;
}
