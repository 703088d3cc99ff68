"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const {el} = page;
  let audit = null, at = 0, picked = new Set();

  const multi = () => audit.task === "multi_label";
  const decidedCount = () => audit.items.filter((it) => it.decision).length;
  const firstOpen = (from) => {
    const n = audit.items.length;
    for (let k = 0; k < n; k++) { const i = (from + k) % n; if (!audit.items[i].decision) return i; }
    return -1;
  };

  function chips(box, names, className) {
    box.replaceChildren(...names.map((name) => el("span", `chip ${className || ""}`, name)));
    if (!names.length) box.append(el("span", "muted", "no label"));
  }

  function show() {
    const item = audit.items[at];
    const done = decidedCount(), total = audit.items.length;
    $("progress").textContent = `${done} of ${total} decided · text ${at + 1} of ${total}, least likely first`;
    $("progress-fill").style.width = `${(100 * done) / total}%`;
    $("item").hidden = false;
    $("where").textContent = `${item.split} row ${item.index} · the model's probability of the given label: ` +
      page.percent(item.self_confidence);
    $("text").textContent = item.text;
    chips($("given"), item.given, "given");
    chips($("suggested"), item.suggested, "suggested");
    const others = Object.entries(item.votes || {}).map(([run, said]) => `${run} says ${said.join(", ") || "no label"}`);
    $("votes").textContent = `Votes: ${audit.model} (${audit.folds} folds, out of fold) says ` +
      `${item.suggested.join(", ")}` + (others.length ? `; ${others.join("; ")}` : "") + ".";
    const decision = item.decision;
    $("decided").hidden = !decision;
    if (decision) {
      $("decided").textContent = `Decided: ${decision.decision === "keep" ? "kept" : decision.decision === "accept" ?
        "suggestion accepted" : "relabelled"} → ${decision.labels.join(", ")}`;
    }
    picked = new Set(decision ? decision.labels : multi() ? item.given : []);  // multi-label: edit the given set
    const box = $("labels");
    box.replaceChildren();
    audit.labels.forEach((name, i) => {
      const button = el("button", `chip pick${picked.has(name) ? " on" : ""}`);
      button.type = "button";
      button.dataset.label = name;
      if (i < 9) button.append(el("kbd", null, String(i + 1)), document.createTextNode(" "));
      button.append(document.createTextNode(name));
      button.addEventListener("click", () => pick(name));
      box.append(button);
    });
    $("pick-help").textContent = multi() ? "Or pick the labels yourself (number keys toggle; none: no label), then save:" :
      "Or pick another label (number keys):";
    $("save-labels").hidden = !multi();
    $("previous").disabled = at === 0;
    $("next").disabled = at === total - 1;
    document.body.dataset.state = "ready";
    document.body.dataset.item = String(at);
  }

  function fail(messages) {
    const box = $("error");
    box.replaceChildren(...messages.map((m) => el("span", null, m)));
    box.hidden = false;
  }

  async function decide(decision, labels) {
    $("error").hidden = true;
    document.body.dataset.state = "saving";
    const payload = {item: at, decision};
    if (labels) payload.labels = labels;
    let answer;
    try {
      answer = await page.post("review/decide", payload);
    } catch (e) {
      fail(["The review service did not answer; the decision was not saved."]);
      document.body.dataset.state = "ready";
      return;
    }
    if (!answer.ok) { fail(page.problems(answer.status, answer.body)); document.body.dataset.state = "ready"; return; }
    audit.items[at].decision = answer.body.decision;
    const next = firstOpen(at + 1);
    if (next < 0) return finish();
    at = next;
    show();
  }

  function pick(name) {
    if (!multi()) return decide("relabel", [name]);
    if (picked.has(name)) picked.delete(name); else picked.add(name);
    for (const b of document.querySelectorAll("#labels .pick")) b.classList.toggle("on", picked.has(b.dataset.label));
  }

  function finish() {
    $("item").hidden = true;
    $("done").hidden = false;
    $("done-file").textContent = audit.corrections;
    $("done-command").textContent = `emobench train --model MODEL ... --label-corrections ${audit.corrections}`;
    $("progress").textContent = `${decidedCount()} of ${audit.items.length} decided`;
    $("progress-fill").style.width = "100%";
    document.body.dataset.state = "done";
  }

  function go(to) {
    if (to < 0 || to >= audit.items.length) return;
    $("done").hidden = true;
    at = to;
    show();
  }

  $("keep").addEventListener("click", () => decide("keep"));
  $("accept").addEventListener("click", () => decide("accept"));
  $("save-labels").addEventListener("click", () => decide("relabel", [...picked]));  // none: the text has no label
  $("previous").addEventListener("click", () => go(at - 1));
  $("next").addEventListener("click", () => go(at + 1));
  $("next-open").addEventListener("click", () => { const i = firstOpen(at + 1); if (i >= 0) go(i); });
  document.addEventListener("keydown", (event) => {
    if (!audit || event.ctrlKey || event.metaKey || event.altKey || document.body.dataset.state !== "ready") return;
    const key = event.key.toLowerCase();
    if (key === "k") decide("keep");
    else if (key === "a") decide("accept");
    else if (key === "n") $("next-open").click();
    else if (key === "arrowleft") go(at - 1);
    else if (key === "arrowright") go(at + 1);
    else if (key === "enter" && multi()) $("save-labels").click();
    else if (/^[1-9]$/.test(key) && Number(key) <= audit.labels.length) pick(audit.labels[Number(key) - 1]);
    else return;
    event.preventDefault();
  });

  fetch("review/items").then((r) => r.json()).then((body) => {
    audit = body;
    $("about").textContent = `${audit.items.length} texts of ${audit.dataset} flagged by ${audit.model} in ` +
      `${audit.audit}; decisions saved to ${audit.corrections} as you go`;
    const open = firstOpen(0);
    if (open < 0) { at = audit.items.length - 1; finish(); } else { at = open; show(); }
  }).catch(() => fail(["The audit could not be read."]));
})();
