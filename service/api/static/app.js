// The analyst's page: paste an article, POST it to /v1/classify, show every sentence colored by stance.
// Plain JavaScript, no build step, nothing loaded from the internet. All text goes in through textContent.
"use strict";

(() => {
  const KEY_STORAGE = "stance.apiKey";
  const HEADS = ["stance", "topic", "sentiment"];
  const HEAD_TITLES = { stance: "Stance", topic: "Topic", sentiment: "Sentiment" };
  // The service's label order (service/bundle.py HEADS); labels it adds later are appended as they appear.
  const KNOWN_LABELS = {
    stance: ["cooperative", "threat", "economic", "neutral"],
    topic: ["security", "diplomacy", "economy", "society", "politics", "other"],
    sentiment: ["positive", "negative", "neutral"],
  };
  const SENTIMENT_MARKS = { positive: "▲", negative: "▼", neutral: "●" };
  // Used when a head does not say itself whether it is confident (no `confident` field).
  const LOW_CONFIDENCE = 0.5;
  const EXPLAIN_WORDS = 8;

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name === "style") Object.assign(node.style, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  const state = {
    response: null, // the API's JSON body, as received
    document: null, // response.results[0]
    labels: {}, // head -> ordered labels
    nodes: [], // one <span class="sentence"> per sentence
    shown: null, // index of the sentence in the details panel
    pinned: null, // index of the pinned sentence, or null
    explainOffered: false,
    quietFocus: false, // set while the page itself moves focus back to a sentence
  };

  // ---------------------------------------------------------------- helpers

  const percent = (share) => `${Math.round(share * 100)}%`;
  const cssToken = (label) => String(label).toLowerCase().replace(/[^a-z0-9_-]/g, "_");
  const labelClass = (head, label) => `${head}-${cssToken(label)}`;

  function isConfident(result) {
    if (!result) return true;
    if (typeof result.confident === "boolean") return result.confident;
    return Number(result.score) >= LOW_CONFIDENCE;
  }

  function apiKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || "";
    } catch {
      return $("api-key").value.trim();
    }
  }

  function headers(extra = {}) {
    const out = { Accept: "application/json", ...extra };
    const key = apiKey();
    if (key) out.Authorization = `Bearer ${key}`;
    return out;
  }

  // ---------------------------------------------------------------- messages

  function showMessage(kind, title, detail) {
    const box = $("message");
    box.replaceChildren(el("strong", { text: title }));
    if (detail) box.append(el("span", { class: "detail", text: detail }));
    box.className = `message ${kind}`;
    box.dataset.kind = kind;
    box.hidden = false;
  }

  function hideMessage() {
    const box = $("message");
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.kind;
  }

  function setBusy(busy, text = "Classifying…") {
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

  function showHttpError(status, body) {
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
      titles[status] || (status >= 500 ? `The service failed (HTTP ${status}).` : `The request failed (HTTP ${status}).`);
    showMessage("error", title, detail ? `Server said: ${detail}` : "");
    if (status === 401 || status === 403) $("api-key").focus();
  }

  async function readBody(response) {
    const text = await response.text();
    try {
      return { json: JSON.parse(text), text };
    } catch {
      return { json: null, text };
    }
  }

  // ---------------------------------------------------------------- API

  // Ask for explanations only when the request schema has an `explain` property: the service rejects
  // unknown fields, so sending it to a service without explanations would fail every request.
  // Answers null when the schema could not be read (then the next Classify asks again).
  async function probeExplain() {
    try {
      const response = await fetch("/openapi.json", { headers: headers() });
      if (!response.ok) return null;
      const spec = await response.json();
      const body = spec?.paths?.["/v1/classify"]?.post?.requestBody?.content?.["application/json"]?.schema;
      const resolve = (schema) => {
        const ref = schema?.$ref;
        if (typeof ref !== "string" || !ref.startsWith("#/")) return schema;
        return ref
          .slice(2)
          .split("/")
          .reduce((node, part) => node?.[part], spec);
      };
      const schema = resolve(body);
      const properties = schema?.properties || resolve(schema?.allOf?.[0])?.properties || {};
      return Object.hasOwn(properties, "explain");
    } catch {
      return null;
    }
  }

  let explainProbe = null;
  function explainSupported() {
    if (!explainProbe) {
      explainProbe = probeExplain().then((offered) => {
        if (offered === null) explainProbe = null;
        return offered === true;
      });
    }
    return explainProbe;
  }

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
      const payload = { text };
      if (state.explainOffered) payload.explain = true;
      response = await fetch("/v1/classify", {
        method: "POST",
        headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify(payload),
      });
      body = await readBody(response);
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
    render(body.json, document_);
    $("busy").hidden = false;
    $("busy").textContent = `Classified ${document_.sentences.length} sentences.`;
  }

  // ---------------------------------------------------------------- rendering

  // Each head's labels: the ones the service names (summary, labels, scores), in the service's own order.
  function collectLabels(document_) {
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

  function clearResults() {
    state.response = null;
    state.document = null;
    state.nodes = [];
    state.shown = null;
    state.pinned = null;
    $("results").hidden = true;
    $("article-view").replaceChildren();
    $("summary").replaceChildren();
    $("busy").hidden = true;
    showDetailsPlaceholder();
  }

  function render(response, document_) {
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
    showDetailsPlaceholder();
    applyFilters();
    $("results").hidden = false;
    const top = $("results").getBoundingClientRect().top;
    if (top > window.innerHeight * 0.6) {
      const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      $("results").scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "start" });
    }
  }

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

  function renderSummary(document_) {
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

  function renderFilters() {
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
    node.append(el("span", { class: "sentence-text", text: sentence.text }));
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

  // ---------------------------------------------------------------- details

  function showDetailsPlaceholder() {
    $("details").replaceChildren(
      el("p", {
        class: "hint",
        id: "details-empty",
        text: "Hover, click or focus a sentence to see the probabilities of every label and the words behind them.",
      }),
    );
    $("details").classList.remove("open");
    document.body.classList.remove("details-open");
  }

  // On a small screen the details sheet covers the bottom of the window: keep the sentence above it.
  function keepVisible(node) {
    if (!window.matchMedia("(max-width: 900px)").matches) return;
    const sheet = $("details").getBoundingClientRect();
    const box = node.getBoundingClientRect();
    if (box.bottom > sheet.top - 8) window.scrollBy(0, box.bottom - sheet.top + 16);
    else if (box.top < 0) window.scrollBy(0, box.top - 16);
  }

  function unpin() {
    state.pinned = null;
    state.nodes.forEach((node) => node.setAttribute("aria-pressed", "false"));
  }

  function togglePin(index) {
    state.pinned = state.pinned === index ? null : index;
    state.nodes.forEach((node, i) => node.setAttribute("aria-pressed", i === state.pinned ? "true" : "false"));
    showDetails(index, true);
    keepVisible(state.nodes[index]);
  }

  function showDetails(index, force = false) {
    if (!force && state.pinned !== null && state.pinned !== index) return;
    const sentence = state.document?.sentences[index];
    if (!sentence) return;
    state.shown = index;
    state.nodes.forEach((node, i) => node.classList.toggle("active", i === index));
    const panel = $("details");
    panel.classList.add("open");
    document.body.classList.add("details-open");
    const pinned = state.pinned === index;
    const header = el(
      "div",
      { class: "details-head" },
      el("h3", { text: `Sentence ${index + 1} of ${state.nodes.length}` }),
      pinned ? el("span", { class: "badge", text: "pinned" }) : null,
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
      ...heads,
      ...(note ? [note] : []), // replaceChildren would write a null as the text "null"
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

  // ---------------------------------------------------------------- filters

  function applyFilters() {
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

  function resetFilters() {
    for (const head of HEADS) $(`filter-${head}`).value = "";
    $("filter-unsure").checked = false;
    applyFilters();
  }

  // ---------------------------------------------------------------- downloads

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
    const rows = [columns];
    document_.sentences.forEach((sentence, index) => {
      const row = [index + 1, sentence.start, sentence.end, safeText(sentence.text)];
      for (const head of heads) {
        const result = sentence[head] || {};
        row.push(result.label, result.score, sentence[head] ? isConfident(result) : "");
        for (const label of state.labels[head]) row.push(result.scores?.[label] ?? "");
      }
      rows.push(row);
    });
    return `${rows.map((row) => row.map(csvCell).join(",")).join("\r\n")}\r\n`;
  }

  // ---------------------------------------------------------------- keyboard

  function visibleNodes() {
    return state.nodes.filter((node) => node.dataset.match !== "false");
  }

  function onArticleKey(event) {
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

  // ---------------------------------------------------------------- wiring

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
    try {
      $("api-key").value = sessionStorage.getItem(KEY_STORAGE) || "";
    } catch {
      // Session storage is off (private mode in some browsers): the key then lives in the field only.
    }
    updateKeyStatus();
    $("api-key").addEventListener("input", () => {
      const key = $("api-key").value.trim();
      try {
        if (key) sessionStorage.setItem(KEY_STORAGE, key);
        else sessionStorage.removeItem(KEY_STORAGE);
      } catch {
        // see above
      }
      updateKeyStatus();
    });
    $("api-key-form").addEventListener("submit", (event) => event.preventDefault());
    $("forget-key").addEventListener("click", () => {
      $("api-key").value = "";
      try {
        sessionStorage.removeItem(KEY_STORAGE);
      } catch {
        // see above
      }
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
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && state.pinned !== null && !event.target.closest?.(".sentence")) togglePin(state.pinned);
    });

    $("download-json").addEventListener("click", () => {
      if (state.response) {
        download(`stance-${stamp()}.json`, "application/json", `${JSON.stringify(state.response, null, 2)}\n`);
      }
    });
    $("download-csv").addEventListener("click", () => {
      if (state.document) download(`stance-${stamp()}.csv`, "text/csv;charset=utf-8", toCsv(state.document));
    });
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
})();
