// The relations panel: every pair of actors named in the same sentences, how many sentences, a bar of their
// stance shares; clicking a pair highlights its sentences in the article (clicking it again clears that).
import { $, el } from "./dom.js";
import { labelClass, percent } from "./labels.js";
import { state } from "./state.js";

// Each actor's display name, from the mentions in the sentences (relations carry ids only, to stay small).
function actorNames(document_) {
  const names = {};
  for (const sentence of document_.sentences) {
    for (const actor of sentence.actors || []) names[actor.id] = actor.name;
  }
  return names;
}

export function renderRelations(document_) {
  const panel = $("relations");
  const relations = Array.isArray(document_.relations) ? document_.relations : [];
  state.pair = null;
  panel.replaceChildren(el("h3", { class: "summary-head", text: "Relations" }));
  if (!relations.length) {
    panel.append(el("p", { class: "hint", text: "No two actors are named in the same sentence." }));
    return;
  }
  const names = actorNames(document_);
  const list = el("ul", { class: "pairs" });
  for (const relation of relations) {
    const [first, second] = relation.actors;
    const label = `${names[first] || first} – ${names[second] || second}`;
    const stance = relation.stance || {};
    const bar = el("span", { class: "stack pair-bar", "aria-hidden": "true" });
    for (const name of state.labels.stance || Object.keys(stance)) {
      const share = Number(stance[name] || 0);
      if (share > 0) {
        bar.append(
          el("span", {
            class: `segment swatch ${labelClass("stance", name)}`,
            style: { flexGrow: String(share) },
            title: `${name}: ${percent(share)}`,
          }),
        );
      }
    }
    const described = Object.entries(stance)
      .filter(([, share]) => share > 0)
      .map(([name, share]) => `${name} ${percent(share)}`)
      .join(", ");
    const count = relation.sentences;
    const button = el(
      "button",
      {
        type: "button",
        class: "pair",
        "data-pair": relation.actors.join("-"),
        "aria-pressed": "false",
        title: `Highlight the sentences about ${label}`,
      },
      el("span", { class: "pair-names", text: label }),
      el("span", { class: "pair-count", text: `${count} ${count === 1 ? "sentence" : "sentences"}` }),
      bar,
      el("span", { class: "visually-hidden", text: ` Stance: ${described}.` }),
    );
    button.addEventListener("click", () => highlightPair(relation));
    list.append(el("li", {}, button));
  }
  panel.append(list);
}

export function highlightPair(relation) {
  const key = relation.actors.join("-");
  state.pair = state.pair === key ? null : key;
  const indices = new Set(state.pair ? relation.indices || [] : []);
  state.nodes.forEach((node, index) => node.classList.toggle("pair-highlight", indices.has(index)));
  for (const button of document.querySelectorAll("#relations button.pair")) {
    button.setAttribute("aria-pressed", button.dataset.pair === state.pair ? "true" : "false");
  }
  $("article-view").classList.toggle("pair-active", state.pair !== null);
}
