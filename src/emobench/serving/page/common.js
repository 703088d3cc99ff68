"use strict";
// Shared by the service's pages: every text, label name and message from the service or the user is written with
// textContent (never as markup), and every request goes to this service, relative to the page.
const page = {
  el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  },
  percent(p) {
    return (100 * p).toFixed(p >= 0.995 || p < 0.001 ? 0 : 1) + "%";
  },
  number(value) {
    return typeof value === "number" ? value.toFixed(4) : String(value);
  },
  // A refusal as sentences: a 422 names each item (loc) and the reason (msg); a text's index is its line on the page.
  problems(status, body, lines) {
    if (body && Array.isArray(body.detail)) {
      return body.detail.map((p) => {
        const loc = Array.isArray(p.loc) ? p.loc : [];
        const at = loc.length >= 3 && loc[loc.length - 2] === "texts" && Number.isInteger(loc[loc.length - 1])
          ? loc[loc.length - 1] : null;
        const reason = String(p.msg || "refused").replace(/^texts\[\d+\] /, "");
        const field = loc.filter((part) => part !== "body").join(".");
        return at !== null ? `Text ${lines ? lines[at] : at + 1}: ${reason}` : field ? `${field}: ${reason}` : reason;
      });
    }
    if (body && typeof body.detail === "string") return [body.detail];
    return [`The service answered ${status}.`];
  },
  async post(path, payload) {
    const response = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                        body: JSON.stringify(payload)});
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    return {ok: response.ok, status: response.status, body};
  },
};
