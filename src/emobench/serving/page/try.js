"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const {el} = page;
  let card = null;

  function showCard(c) {
    card = c;
    const rows = [["model", c.model || c.family], ["family", c.family], ["dataset", c.dataset || "not recorded"],
                  ["weights", `${c.precision}${c.backend === "onnx" ? " (ONNX export)" : ""}`],
                  ["task", c.task === "multi_label" ? "multi-label" : "single-label"], ["labels", c.labels.join(", ")]];
    const metrics = c.test_metrics || {};
    for (const [name, value] of Object.entries(metrics)) {  // {"accuracy": .9, "macro": {"f1": .8, ...}, "n": 48}
      if (name === "n") rows.push(["test texts", String(value)]);
      else if (value && typeof value === "object") {
        for (const [part, v] of Object.entries(value)) rows.push([`test ${name} ${part}`.replace(/_/g, " "), page.number(v)]);
      } else rows.push([`test ${name.replace(/_/g, " ")}`, page.number(value)]);
    }
    rows.push(["word attributions", c.explains ? "yes" : (c.no_explanations || "no")]);
    const list = $("card");
    list.replaceChildren();
    for (const [name, value] of rows) list.append(el("dt", null, name), el("dd", null, value));
    const f1 = metrics.macro && metrics.macro.f1;
    const scores = typeof f1 === "number" ? ` · test macro-F1 ${page.number(f1)}` : "";
    $("card-line").textContent = `${c.model || c.family} on ${c.dataset || "its data"} · ${c.precision}${scores}`;
  }

  function lines() {  // the non-blank lines, and where each was (a refusal names the line the user sees)
    const all = $("texts").value.split("\n");
    const texts = [], at = [];
    all.forEach((line, i) => { if (line.trim()) { texts.push(line); at.push(i + 1); } });
    return {texts, at, blank: all.length - texts.length - (all[all.length - 1] === "" ? 1 : 0)};
  }

  function bars(prediction) {
    const chosen = new Set(prediction.labels || [prediction.label]);
    const list = el("ol", "bars");
    const order = Object.entries(prediction.probabilities).sort((a, b) => b[1] - a[1]);
    for (const [name, p] of order) {
      const item = el("li", chosen.has(name) ? "chosen" : null);
      const track = el("span", "track");
      const fill = el("span", "fill");
      fill.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;  // CSSOM, which the page's CSP allows
      track.append(fill);
      item.append(el("span", "name", name), track, el("span", "pct", page.percent(p)));
      list.append(item);
    }
    return list;
  }

  function attributions(explanation) {
    const box = el("div", "explanation");
    const top = Math.max(1e-12, ...explanation.scores.map(Math.abs));
    box.append(el("p", "small muted", `Words for (green) and against (red) "${explanation.label}", by ${explanation.method}:`));
    const words = el("p", "tokens");
    explanation.tokens.forEach((token, i) => {
      const score = explanation.scores[i];
      const word = el("span", score >= 0 ? "token for" : "token against", token);
      word.style.opacity = String(0.35 + 0.65 * Math.abs(score) / top);
      word.title = `${score >= 0 ? "+" : ""}${score.toFixed(4)}`;
      words.append(word, document.createTextNode(" "));
    });
    box.append(words);
    return box;
  }

  function showResults(texts, predictions, explanations) {
    const results = $("results");
    results.replaceChildren();
    predictions.forEach((prediction, i) => {
      const card = el("article", "result");
      card.append(el("p", "text", texts[i]));
      const chosen = prediction.labels ? (prediction.labels.join(", ") || "no label") : prediction.label;
      const verdict = el("p", "verdict", prediction.labels ? "Labels: " : "Label: ");
      verdict.append(el("strong", "label", chosen));
      card.append(verdict, bars(prediction));
      if (explanations) explanations[i].forEach((e) => card.append(attributions(e)));
      results.append(card);
    });
  }

  // Each text's attributions toward each label it was given: one request per label (a multi-label text with two
  // labels gets two explanations; one with none, its most probable label's).
  async function explainAll(texts, predictions, at) {
    const per = texts.map(() => []);
    const wanted = new Map();
    predictions.forEach((p, i) => {
      const labels = p.labels ? (p.labels.length ? p.labels : [null]) : [null];
      labels.forEach((label) => { if (!wanted.has(label)) wanted.set(label, []); wanted.get(label).push(i); });
    });
    for (const [label, rows] of wanted) {
      const body = {texts: rows.map((i) => texts[i])};
      if (label !== null) body.label = label;
      const why = await page.post("explain", body);
      if (!why.ok) return {problems: page.problems(why.status, why.body, rows.map((i) => at[i]))};
      why.body.explanations.forEach((e, k) => per[rows[k]].push(e));
    }
    return {per};
  }

  function fail(messages) {
    const box = $("error");
    box.replaceChildren(...messages.map((m) => el("span", null, m)));
    box.hidden = false;
  }

  async function predict() {
    const {texts, at, blank} = lines();
    $("error").hidden = true;
    $("note").hidden = blank === 0;
    $("note").textContent = blank ? `${blank} blank line${blank > 1 ? "s" : ""} left out.` : "";
    if (!texts.length) return fail(["Type a text first."]);
    const button = $("predict");
    button.disabled = true;
    button.textContent = "Predicting…";
    try {
      const answer = await page.post("predict", {texts});
      if (!answer.ok) return fail(page.problems(answer.status, answer.body, at));
      showResults(texts, answer.body.predictions, null);
      if (card && card.explains) {
        const why = await explainAll(texts, answer.body.predictions, at);
        if (why.per) showResults(texts, answer.body.predictions, why.per);
        else fail(why.problems);
      }
    } catch (e) {
      fail(["The service did not answer; is it still running?"]);
    } finally {
      button.disabled = false;
      button.textContent = "Predict";
      document.body.dataset.state = "answered";
    }
  }

  function count() {
    const {texts} = lines();
    const limits = (card && card.limits) || {};
    // characters as the service counts them (code points: an emoji is one, not two UTF-16 units)
    const long = texts.filter((t) => limits.max_chars && [...t].length > limits.max_chars).length;
    $("count").textContent = `${texts.length} text${texts.length === 1 ? "" : "s"}` +
      (limits.max_texts ? ` of at most ${limits.max_texts}` : "") +
      (long ? `; ${long} longer than ${limits.max_chars} characters` : "");
  }

  $("predict").addEventListener("click", predict);
  $("texts").addEventListener("input", count);
  $("texts").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); predict(); }
  });
  fetch("model").then((r) => r.json()).then((c) => { showCard(c); count(); document.body.dataset.state = "ready"; })
    .catch(() => fail(["The model card could not be read."]));
})();
