// The service's heads and labels, and how the page names, orders and judges them.

export const HEADS = ["stance", "topic", "sentiment"];
export const HEAD_TITLES = { stance: "Stance", topic: "Topic", sentiment: "Sentiment" };
// The service's label order (service/bundle.py HEADS); labels it adds later are appended as they appear.
const KNOWN_LABELS = {
  stance: ["cooperative", "threat", "economic", "neutral"],
  topic: ["security", "diplomacy", "economy", "society", "politics", "other"],
  sentiment: ["positive", "negative", "neutral"],
};
export const SENTIMENT_MARKS = { positive: "▲", negative: "▼", neutral: "●" };
// Used when a head does not say itself whether it is confident (no `confident` field).
const LOW_CONFIDENCE = 0.5;

export const percent = (share) => `${Math.round(share * 100)}%`;
export const cssToken = (label) => String(label).toLowerCase().replace(/[^a-z0-9_-]/g, "_");
export const labelClass = (head, label) => `${head}-${cssToken(label)}`;

export function isConfident(result) {
  if (!result) return true;
  if (typeof result.confident === "boolean") return result.confident;
  return Number(result.score) >= LOW_CONFIDENCE;
}

// Each head's labels: the ones the service names (summary, labels, scores), in the service's own order.
export function collectLabels(document_) {
  const labels = {};
  for (const head of HEADS) {
    const named = new Set(Object.keys(document_.summary?.[head] || {}));
    for (const sentence of document_.sentences) {
      const result = sentence[head];
      if (!result) continue;
      named.add(result.label);
      Object.keys(result.scores || {}).forEach((label) => named.add(label));
    }
    const known = KNOWN_LABELS[head];
    labels[head] = [...known.filter((label) => named.has(label)), ...[...named].filter((l) => !known.includes(l))];
  }
  return labels;
}
