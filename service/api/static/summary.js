// The summary strip (share of sentences per label) and the filters it shares with the "Show only" selects.
import { $, el } from "./dom.js";
import { HEADS, HEAD_TITLES, labelClass, percent } from "./labels.js";
import { state } from "./state.js";

function shares(document_, head) {
  const summary = document_.summary?.[head];
  if (summary && typeof summary === "object") return summary;
  const counts = {};
  for (const sentence of document_.sentences) {
    const label = sentence[head]?.label;
    if (label !== undefined) counts[label] = (counts[label] || 0) + 1;
  }
  const total = document_.sentences.length || 1;
  return Object.fromEntries(Object.entries(counts).map(([label, n]) => [label, n / total]));
}

export function renderSummary(document_) {
  const strip = $("summary");
  strip.replaceChildren();
  for (const head of HEADS) {
    if (!document_.sentences.some((sentence) => sentence[head])) continue;
    const headShares = shares(document_, head);
    const bar = el("div", { class: "stack", "aria-hidden": "true" });
    const list = el("ul", { class: "shares" });
    for (const label of state.labels[head]) {
      const share = Number(headShares[label] || 0);
      const n = document_.sentences.filter((sentence) => sentence[head]?.label === label).length;
      if (share > 0) {
        bar.append(
          el("span", {
            class: `segment swatch ${labelClass(head, label)}`,
            style: { flexGrow: String(share) },
            title: `${label}: ${percent(share)}`,
            "data-label": label,
          }),
        );
      }
      const button = el(
        "button",
        {
          type: "button",
          class: `share${share > 0 ? "" : " zero"}`,
          "data-head": head,
          "data-label": label,
          "data-share": share,
          "aria-pressed": "false",
          title: `Show only ${head} ${label}`,
        },
        el("span", { class: `swatch ${labelClass(head, label)}`, "aria-hidden": "true" }),
        el("span", { class: "share-label", text: label }),
        el("span", { class: "share-value", text: ` ${percent(share)}` }),
        el("span", { class: "share-count", text: ` (${n})` }),
      );
      button.addEventListener("click", () => {
        const select = $(`filter-${head}`);
        select.value = select.value === label ? "" : label;
        applyFilters();
      });
      list.append(el("li", {}, button));
    }
    strip.append(
      el(
        "div",
        { class: "summary-row", "data-head": head },
        el("h3", { class: "summary-head", text: HEAD_TITLES[head] || head }),
        bar,
        list,
      ),
    );
  }
}

export function renderFilters() {
  for (const head of HEADS) {
    const select = $(`filter-${head}`);
    select.replaceChildren(el("option", { value: "", text: "all" }));
    for (const label of state.labels[head]) {
      const n = state.document.sentences.filter((sentence) => sentence[head]?.label === label).length;
      select.append(el("option", { value: label, text: `${label} (${n})` }));
    }
  }
  $("filter-unsure").checked = false;
}

export function applyFilters() {
  if (!state.document) return;
  const wanted = Object.fromEntries(HEADS.map((head) => [head, $(`filter-${head}`).value]));
  const unsureOnly = $("filter-unsure").checked;
  let shown = 0;
  state.nodes.forEach((node) => {
    const match =
      HEADS.every((head) => !wanted[head] || node.dataset[head] === wanted[head]) &&
      (!unsureOnly || node.dataset.confident === "false");
    node.dataset.match = match ? "true" : "false";
    node.classList.toggle("filtered-out", !match);
    node.tabIndex = match ? 0 : -1;
    if (match) shown += 1;
  });
  for (const button of document.querySelectorAll("#summary button.share")) {
    button.setAttribute("aria-pressed", wanted[button.dataset.head] === button.dataset.label ? "true" : "false");
  }
  const total = state.nodes.length;
  const active = unsureOnly || HEADS.some((head) => wanted[head]);
  $("filter-count").textContent = !active
    ? `${total} sentences`
    : shown
      ? `Showing ${shown} of ${total} sentences`
      : "No sentence matches these filters.";
  $("filter-reset").disabled = !active;
}

export function resetFilters() {
  for (const head of HEADS) $(`filter-${head}`).value = "";
  $("filter-unsure").checked = false;
  applyFilters();
}
