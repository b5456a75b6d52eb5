// What the page shows now: the last answer and the sentence nodes; every module reads and updates this one object.

export const state = {
  response: null, // the API's JSON body, as received
  document: null, // response.results[0]
  labels: {}, // head -> ordered labels
  nodes: [], // one <span class="sentence"> per sentence
  shown: null, // index of the sentence in the details panel
  pinned: null, // index of the pinned sentence, or null
  pair: null, // the relations panel's highlighted pair ("IRN-PAK"), or null
  explainOffered: false,
  requestId: null, // the classify response's X-Request-ID
  corrections: new Map(), // sentence text -> {head: label} sent to /v1/feedback from this tab
  quietFocus: false, // set while the page itself moves focus back to a sentence
};
