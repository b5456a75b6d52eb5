// Keys in the result: the arrow keys, Home and End move between the shown sentences; Enter or Space pins one;
// Escape unpins, from a sentence or from anywhere else on the page.
import { togglePin } from "./panel.js";
import { state } from "./state.js";

function visibleNodes() {
  return state.nodes.filter((node) => node.dataset.match !== "false");
}

export function onArticleKey(event) {
  const node = event.target.closest?.(".sentence");
  if (!node) return;
  const index = Number(node.dataset.index);
  const nodes = visibleNodes();
  const at = nodes.indexOf(node);
  let target = null;
  switch (event.key) {
    case "ArrowDown":
    case "ArrowRight":
      target = nodes[Math.min(at + 1, nodes.length - 1)];
      break;
    case "ArrowUp":
    case "ArrowLeft":
      target = nodes[Math.max(at - 1, 0)];
      break;
    case "Home":
      target = nodes[0];
      break;
    case "End":
      target = nodes[nodes.length - 1];
      break;
    case "Enter":
    case " ":
      event.preventDefault();
      togglePin(index);
      return;
    case "Escape":
      if (state.pinned !== null) togglePin(state.pinned);
      return;
    default:
      return;
  }
  event.preventDefault();
  if (target && target !== node) target.focus();
}

export function onPageKey(event) {
  if (event.key === "Escape" && state.pinned !== null && !event.target.closest?.(".sentence")) togglePin(state.pinned);
}
