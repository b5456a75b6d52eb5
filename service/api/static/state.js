// What the page shows now: the last answer and the sentence nodes; every module reads and updates this one object.

export const state = {
  response: null, // the API's JSON body, as received
  document: null, // response.results[0]
  labels: {}, // head -> ordered labels
  nodes: [], // one <span class="sentence"> per sentence
  shown: null, // index of the sentence in the details panel
  pinned: null, // index of the pinned sentence, or null
  explainOffered: false,
  quietFocus: false, // set while the page itself moves focus back to a sentence
};
