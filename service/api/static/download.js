// Downloads of the current result: the API's JSON as received, and one CSV row per sentence.
import { el } from "./dom.js";
import { HEADS, isConfident } from "./labels.js";
import { state } from "./state.js";

function download(filename, type, content) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function stamp() {
  return new Date().toISOString().replace(/[:]/g, "-").replace(/\..*$/, "");
}

function csvCell(value) {
  const text = value === undefined || value === null ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// Spreadsheet programs run cells that start with = + - @ as formulas; a leading ' keeps them text.
const safeText = (text) => (/^[=+\-@\t\r]/.test(text) ? `'${text}` : text);

function toCsv(document_) {
  const heads = HEADS.filter((head) => document_.sentences.some((sentence) => sentence[head]));
  const columns = ["sentence", "start", "end", "text"];
  for (const head of heads) {
    columns.push(head, `${head}_score`, `${head}_confident`);
    for (const label of state.labels[head]) columns.push(`${head}:${label}`);
  }
  columns.push("actors"); // the ids of the actors the sentence names, in order, space-separated
  const rows = [columns];
  document_.sentences.forEach((sentence, index) => {
    const row = [index + 1, sentence.start, sentence.end, safeText(sentence.text)];
    for (const head of heads) {
      const result = sentence[head] || {};
      row.push(result.label, result.score, sentence[head] ? isConfident(result) : "");
      for (const label of state.labels[head]) row.push(result.scores?.[label] ?? "");
    }
    row.push((sentence.actors || []).map((actor) => actor.id).join(" "));
    rows.push(row);
  });
  return `${rows.map((row) => row.map(csvCell).join(",")).join("\r\n")}\r\n`;
}

export function downloadJson() {
  if (state.response) {
    download(`stance-${stamp()}.json`, "application/json", `${JSON.stringify(state.response, null, 2)}\n`);
  }
}

export function downloadCsv() {
  if (state.document) download(`stance-${stamp()}.csv`, "text/csv;charset=utf-8", toCsv(state.document));
}
