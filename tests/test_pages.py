"""The page `emobench serve` gives at `/`, in a real browser (headless Chromium, Selenium): a text typed is answered
with the model's own label and probabilities, word attributions where the family has them and the model card;
markup in a text or a label name stays text; a text over the limit is refused by name, one at the limit answered;
nothing typed reaches the server's log (at debug level)."""
import pytest

from browser import Server, require_browser, set_text, start_browser, wait_for

require_browser()
pytestmark = [pytest.mark.slow, pytest.mark.browser]
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

from emobench import Predictor  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    driver = start_browser()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def served(tfidf_run, tmp_path_factory):
    server = Server(["serve", str(tfidf_run)], tmp_path_factory.mktemp("serve") / "server.log")
    yield server
    server.stop()


def ask(browser, server, text: str | None = None, keys: bool = True):
    browser.get(server.url)
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "ready")
    box = browser.find_element(By.ID, "texts")
    if text is not None:
        if keys:
            box.send_keys(text)
        else:
            set_text(browser, box, text)
    browser.execute_script("document.body.dataset.state = 'asking'")
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "answered")
    return browser.find_elements(By.CSS_SELECTOR, "#results .result")


def test_a_typed_text_gets_the_models_label_bars_attributions_and_card(browser, served, tfidf_run):
    text = "i am so terrified and scared of the dark"
    (result,) = ask(browser, served, text)
    expected = Predictor(tfidf_run).predict(text)[0]
    assert result.find_element(By.CSS_SELECTOR, ".label").text == expected.label
    bars = result.find_elements(By.CSS_SELECTOR, ".bars li")
    assert [b.find_element(By.CSS_SELECTOR, ".name").text for b in bars] == \
        sorted(expected.probabilities, key=expected.probabilities.get, reverse=True)
    shown = bars[0].find_element(By.CSS_SELECTOR, ".pct").text
    assert shown.rstrip("%") in {f"{100 * max(expected.probabilities.values()):.{d}f}" for d in (0, 1)}
    tokens = [t.text for t in result.find_elements(By.CSS_SELECTOR, ".tokens .token")]
    assert tokens == text.split()  # tfidf attributes to each word
    card = browser.find_element(By.ID, "card").text
    assert "tfidf" in card and "fp64" in card and "emotion" in card and "test accuracy" in card


def test_several_lines_are_several_texts_and_blank_ones_are_counted(browser, served, tfidf_run):
    results = ask(browser, served, "i feel so happy\n\nthis makes me furious and angry")
    assert len(results) == 2
    labels = [r.find_element(By.CSS_SELECTOR, ".label").text for r in results]
    assert labels == [p.label for p in Predictor(tfidf_run).predict(["i feel so happy", "this makes me furious and angry"])]
    assert browser.find_element(By.ID, "note").text == "1 blank line left out."


def test_markup_in_a_text_stays_text(browser, served):
    attack = '<img src=x onerror="document.title=\'owned\'"><b>bold</b>'
    (result,) = ask(browser, served, attack)
    assert result.find_element(By.CSS_SELECTOR, ".text").text == attack
    assert not browser.find_elements(By.CSS_SELECTOR, "#results img, #results b")
    assert browser.title == "emobench: try the model"


def test_a_text_over_the_limit_is_named_and_one_at_the_limit_is_answered(browser, served):
    assert ask(browser, served, "fine\n" + "x" * 10_001, keys=False) == []
    assert browser.find_element(By.ID, "error").text == "Text 2: has 10001 characters; the maximum is 10000"
    (result,) = ask(browser, served, "happy " * 1666 + "joy!", keys=False)  # 10,000 characters
    assert result.find_element(By.CSS_SELECTOR, ".label").text


def test_label_names_with_markup_stay_text(browser, tmp_path):
    from emobench.data import Split
    from emobench.models import build_model

    names = ["<b>glad</b>", "<img src=x onerror=alert(1)>", "sad & blue"]
    texts = [f"{w} {i}" for i in range(20) for w in ("happy glad", "angry mad", "sad blue")]
    labels = [i % 3 for i in range(60)]
    model = build_model("tfidf").fit(Split(texts, labels), Split(texts[:9], labels[:9]), names)
    model.save(tmp_path / "model")
    server = Server(["serve", str(tmp_path / "model")], tmp_path / "server.log")
    try:
        (result,) = ask(browser, server, "happy glad")
        shown = [b.text for b in result.find_elements(By.CSS_SELECTOR, ".bars .name")]
        assert sorted(shown) == sorted(names) and result.find_element(By.CSS_SELECTOR, ".label").text == names[0]
        assert names[1] in browser.find_element(By.ID, "card").text
        assert not browser.find_elements(By.CSS_SELECTOR, "#results img, #results b, #card img, #card b")
    finally:
        server.stop()


def test_nothing_typed_is_logged(browser, tfidf_run, tmp_path):
    server = Server(["serve", str(tfidf_run)], tmp_path / "server.log")
    secret = "my neighbour zanzibarquux makes me furious"
    try:
        ask(browser, server, secret)
    finally:
        log = server.stop()
    assert "POST /predict" in log and "POST /explain" in log  # the debug log was on, and saw the requests
    assert "zanzibarquux" not in log


def test_the_page_loads_nothing_from_elsewhere(browser, served):
    browser.get(served.url)
    wait_for(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "ready")
    sources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])")
    assert sources and all(s.startswith(served.url) for s in sources), sources


# --- emobench review AUDIT ----------------------------------------------------------------------------------------

def _state(browser):
    return browser.find_element(By.TAG_NAME, "body").get_attribute("data-state")


def _press(browser, key):
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(key).perform()
    wait_for(browser, lambda d: _state(d) in ("ready", "done"))


def test_five_flagged_texts_by_keyboard_then_a_reload_resumes_where_it_stopped(browser, tiny_root, tmp_path):
    import json

    from adversarial.cases_review import audit_of
    from emobench.experiments.review import Review

    audit = audit_of(tmp_path, tiny_root, rows=8)
    server = Server(["review", str(audit)], tmp_path / "review.log")
    try:
        browser.get(server.url)
        wait_for(browser, lambda d: _state(d) == "ready")
        shown = []
        for key in ("k", "a", "1", "a", "k"):  # keep, accept, the first label, accept, keep
            shown.append(browser.find_element(By.ID, "text").text)
            _press(browser, key)
        assert browser.find_element(By.ID, "progress").text.startswith("5 of 8 decided")
        browser.refresh()
        wait_for(browser, lambda d: _state(d) == "ready")
        assert browser.find_element(By.ID, "progress").text.startswith("5 of 8 decided · text 6 of 8")
        _press(browser, Keys.ARROW_LEFT)  # back to a decided text: its decision is shown
        assert browser.find_element(By.ID, "decided").text.startswith("Decided: kept")
    finally:
        log = server.stop()
    items = Review(audit)
    try:
        assert shown == [it.text for it in items.items[:5]]
        first_label = items.audit.labels[0]
        decided = {(d.index): (d.decision, d.labels) for d in items.corrections.decisions}
        expected = ["keep", "accept", "relabel", "accept", "keep"]
        assert [decided[it.index][0] for it in items.items[:5]] == expected
        assert decided[items.items[2].index][1] == [first_label]
    finally:
        items.close()
    assert all(text not in log for text in shown)  # the texts reviewed are not logged
    assert json.loads((tmp_path / "a.corrections.json").read_text())["audit"] == "a.json"


def test_markup_in_flagged_texts_and_label_names_stays_text(browser, tmp_path):
    from emobench.records.label_issues import LabelIssues, write_label_issues

    names = ["<b>glad</b>", "<img src=x onerror=alert(1)>", "sad & blue"]
    texts = ['<script>document.title="owned"</script>', "<i>so</i> happy", "plain & simple"]
    audit = LabelIssues.model_validate({
        "dataset": "<h1>data</h1>", "labels": names, "task": "single_label", "model": "tfidf", "folds": 3, "seed": 0,
        "method": "confident learning", "splits": {"train": {
            "n": 3, "digest": "0" * 64, "flagged": 3, "per_label": {n: 1 for n in names},
            "issues": [{"index": i, "text": t, "given": [names[i]], "suggested": [names[(i + 1) % 3]],
                        "self_confidence": 0.1 * i} for i, t in enumerate(texts)]}}})
    write_label_issues(tmp_path / "m.json", audit)
    server = Server(["review", str(tmp_path / "m.json")], tmp_path / "review.log")
    try:
        browser.get(server.url)
        wait_for(browser, lambda d: _state(d) == "ready")
        assert browser.find_element(By.ID, "text").text == texts[0]
        assert [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#given .chip")] == [names[0]]
        assert [b.text.split(" ", 1)[1] for b in browser.find_elements(By.CSS_SELECTOR, "#labels .pick")] == names
        _press(browser, "2")  # relabelled to the label whose name is markup
        assert browser.find_element(By.ID, "text").text == texts[1]
        assert not browser.find_elements(By.CSS_SELECTOR, "main img, main b, main script, main i, header h1 h1")
        assert browser.title == "emobench: review labels"
    finally:
        server.stop()
    saved = (tmp_path / "m.corrections.json").read_text()
    assert '"<img src=x onerror=alert(1)>"' in saved


def test_a_multi_label_text_is_explained_toward_each_of_its_labels(browser, tmp_path):
    from conftest import MULTI_LABELS, multi_examples
    from emobench.data import Split
    from emobench.models import build_model

    def split(n, seed):
        rows = multi_examples(n, seed)
        return Split([t for t, _ in rows], [[MULTI_LABELS.index(x) for x in labels] for _, labels in rows])

    build_model("tfidf").fit(split(160, 1), split(48, 2), MULTI_LABELS).save(tmp_path / "model")
    predictor = Predictor(tmp_path / "model")
    text = next(t for t in split(60, 3).texts if len(predictor.predict(t)[0].labels) == 2)
    expected = predictor.predict(text)[0].labels
    server = Server(["serve", str(tmp_path / "model")], tmp_path / "server.log")
    try:
        (result,) = ask(browser, server, text)
        shown = [e.text for e in result.find_elements(By.CSS_SELECTOR, ".explanation .small")]
        assert len(shown) == 2 and all(any(f'"{label}"' in s for s in shown) for label in expected), shown
        assert result.find_element(By.CSS_SELECTOR, ".label").text == ", ".join(expected)
    finally:
        server.stop()
