// Talking to the service: the API key (this tab's session storage only), the explain probe, POST /v1/classify
// and POST /v1/feedback.
import { $ } from "./dom.js";

const KEY_STORAGE = "stance.apiKey";

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return $("api-key").value.trim();
  }
}

// The key kept for this tab ("" when there is none), or null when session storage is off (private mode in some
// browsers): the key then lives in the field only.
export function storedKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return null;
  }
}

// Keep the key for this tab; an empty key forgets it.
export function storeKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // session storage is off: see storedKey
  }
}

function headers(extra = {}) {
  const out = { Accept: "application/json", ...extra };
  const key = apiKey();
  if (key) out.Authorization = `Bearer ${key}`;
  return out;
}

async function readBody(response) {
  const text = await response.text();
  try {
    return { json: JSON.parse(text), text };
  } catch {
    return { json: null, text };
  }
}

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
export function explainSupported() {
  if (!explainProbe) {
    explainProbe = probeExplain().then((offered) => {
      if (offered === null) explainProbe = null;
      return offered === true;
    });
  }
  return explainProbe;
}

// POST the text; answers the response and its body ({json, text}); a network failure throws.
export async function postClassify(text, explain) {
  const payload = { text };
  if (explain) payload.explain = true;
  const response = await fetch("/v1/classify", {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(payload),
  });
  return { response, body: await readBody(response) };
}

// The X-Request-ID of a response (the service sets it on every answer), or null.
export const requestIdOf = (response) => response?.headers?.get("X-Request-ID") || null;

// POST a correction {text, <heads>, model_version?, request_id?}; answers like postClassify.
export async function postFeedback(payload) {
  const response = await fetch("/v1/feedback", {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(payload),
  });
  return { response, body: await readBody(response) };
}
