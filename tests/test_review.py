"""Label review without a browser: the flagged texts least likely first, decisions saved as they are made and resumed,
one reviewer at a time, corrections files edited by hand refused by field, the review service's refusals, and
`--label-corrections` training on the decisions (recorded in data.json, re-applied when the run is evaluated)."""
import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from adversarial.cases_review import audit_of
from emobench.cli import app
from emobench.errors import EmobenchError
from emobench.experiments.review import Review
from emobench.records.corrections import corrections_path
from emobench.serving.review import create_review_app

runner = CliRunner()


@pytest.fixture
def audit(tiny_root, tmp_path):
    return audit_of(tmp_path, tiny_root)


def test_a_review_goes_least_likely_first_saves_each_decision_and_resumes(audit):
    review = Review(audit)
    try:
        assert [it.self_confidence for it in review.items] == sorted(it.self_confidence for it in review.items)
        first, second, third = review.items[:3]
        review.decide(0, "keep")
        review.decide(1, "accept")
        other = next(n for n in review.audit.labels if n not in third.given + third.suggested)
        review.decide(2, "relabel", [other])
        review.decide(0, "accept")  # a decision changed: still one decision for the row
    finally:
        review.close()
    saved = json.loads(corrections_path(audit).read_text())
    assert corrections_path(audit).name == "a.corrections.json"
    assert [(d["index"], d["decision"], d["labels"]) for d in saved["decisions"]] == [
        (second.index, "accept", second.suggested), (third.index, "relabel", [other]), (first.index, "accept", first.suggested)]
    again = Review(audit)
    try:
        assert [again.decision_of(it) is not None for it in again.items] == [True, True, True, False, False, False]
        assert again.corrections.changed("train") == {first.index: first.suggested, second.index: second.suggested,
                                                      third.index: [other]}
    finally:
        again.close()


def test_a_second_reviewer_is_refused_until_the_first_stops(audit):
    first = Review(audit)
    with pytest.raises(EmobenchError, match="another review of this audit is running"):
        Review(audit)
    first.close()
    Review(audit).close()


@pytest.mark.parametrize("change, message", [
    (lambda d: d["decisions"][0].update(text="edited"), r"decisions\[0\]\.text: not train row"),
    (lambda d: d["decisions"][0].update(given=["surprise"] if d["decisions"][0]["given"] != ["surprise"] else ["joy"]),
     r"decisions\[0\]\.(given|labels)"),
    (lambda d: d["decisions"][1].update(labels=["nope"]), r"decisions\[1\]\.labels: 'nope' is not a label"),
    (lambda d: d["decisions"].append(dict(d["decisions"][0])), r"decisions\[2\]\.index: train row \d+ is decided twice"),
    (lambda d: d["decisions"][0].update(index=10_000), r"decisions\[0\]\.index: train row 10000 is not a text the audit"),
    (lambda d: d["decisions"][0].update(split="test"), r"decisions\[0\]\.split: 'test', a split the audit did not flag"),
    (lambda d: d["decisions"][1].update(labels=d["decisions"][1]["given"]), r"the decision is accept"),
    (lambda d: d.update(labels=d["labels"][::-1]), r"field labels: not the audit's"),
    (lambda d: d.update(format=2), r"field format"),
    (lambda d: d.pop("decisions"), r"field decisions"),
])
def test_a_corrections_file_edited_by_hand_is_refused_by_field(audit, change, message):
    review = Review(audit)
    review.decide(0, "keep")
    review.decide(1, "accept")
    review.close()
    path = corrections_path(audit)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(EmobenchError, match=message):
        Review(audit)
    path.unlink()  # the refusal released the lock: the audit can be reviewed again at once
    Review(audit).close()


@pytest.fixture
def service(audit):
    review = Review(audit)
    with TestClient(create_review_app(review)) as client:
        yield client, review
    review.close()


def test_the_review_service_decides_and_says_the_progress(service):
    client, review = service
    items = client.get("/review/items").json()
    assert len(items["items"]) == 6 and items["corrections"] == str(review.path) and items["model"] == "tfidf"
    assert review.path.is_absolute() and review.path.name == "a.corrections.json"
    answer = client.post("/review/decide", json={"item": 0, "decision": "accept"})
    assert answer.status_code == 200 and answer.json()["decided"] == 1 and answer.json()["total"] == 6
    label = next(n for n in items["labels"] if n not in items["items"][1]["given"])
    assert client.post("/review/decide", json={"item": 1, "decision": "relabel", "labels": [label]}).status_code == 200
    after = client.get("/review/items").json()["items"]
    assert after[0]["decision"]["decision"] == "accept" and after[1]["decision"]["labels"] == [label]
    page = client.get("/")
    assert page.status_code == 200 and "review.js" in page.text and "default-src 'none'" in page.headers[
        "content-security-policy"]


@pytest.mark.parametrize("body, where, reason", [
    ({"item": 6, "decision": "keep"}, ["body", "item"], "less than 6"),
    ({"item": -1, "decision": "keep"}, ["body", "item"], "greater than or equal to 0"),
    ({"item": 0, "decision": "burn"}, ["body", "decision"], "Input should be"),
    ({"item": 0, "decision": "relabel"}, ["body", "labels"], "relabel: give the text's labels"),
    ({"item": 0, "decision": "relabel", "labels": ["ecstasy"]}, ["body", "labels", 0], "Input should be"),
    ({"item": 0, "decision": "relabel", "labels": []}, ["body", "labels"], "single-label data takes exactly one label"),
    ({"item": 0, "decision": "relabel", "labels": ["joy", "anger"]}, ["body", "labels"], "exactly one label"),
    ({"item": 0, "decision": "relabel", "labels": ["joy", "joy"]}, ["body", "labels"], "expected distinct labels"),
    ({"item": 0, "decision": "keep", "labels": ["joy"]}, ["body", "labels"], "labels apply to relabel only"),
    ({"item": 0, "decision": "keep", "extra": 1}, ["body", "extra"], "Extra inputs are not permitted"),
    ({"item": "0", "decision": "keep"}, ["body", "item"], "valid integer"),
    (None, ["body"], "Field required"),
])
def test_the_review_service_refuses_a_bad_decision_by_field_and_saves_nothing(service, body, where, reason):
    client, review = service
    response = client.post("/review/decide", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()["detail"][0]
    assert problem["loc"][: len(where)] == where and reason in problem["msg"], problem
    assert not corrections_path(review.audit_path).exists() and review.corrections.decisions == []


def test_the_review_service_refuses_a_large_body_unread_and_json_that_is_not_an_object(service):
    client, _ = service
    assert client.post("/review/decide", content=b"{" + b" " * 70_000 + b"}",
                       headers={"content-type": "application/json"}).status_code == 413
    assert client.post("/review/decide", content=b'{"item": 0, "item": 1, "decision": "keep"}',
                       headers={"content-type": "application/json"}).status_code == 422
    assert client.post("/review/decide", content=b"item=0", headers={"content-type": "text/plain"}).status_code == 422


def test_label_corrections_train_on_the_decisions_and_are_recorded(audit, tiny_root, tmp_path):
    review = Review(audit)
    try:
        review.decide(0, "keep")
        review.decide(1, "accept")
        moved = review.items[1]
    finally:
        review.close()
    out = runner.invoke(app, ["train", "--model", "tfidf", "--data-dir", str(tiny_root), "-o", str(tmp_path / "runs"),
                              "--name", "r", "-q", "--label-corrections", str(corrections_path(audit))])
    assert out.exit_code == 0, out.output
    recorded = json.loads((tmp_path / "runs" / "r" / "data.json").read_text())["source"]
    assert recorded["label_issues"]["action"] == "correct" and recorded["label_issues"]["rows"] == [moved.index]
    assert recorded["label_issues"]["suggested"] == [moved.suggested]
    assert any("a reviewer relabelled 1 of" in w for w in recorded["warnings"])
    corrections_path(audit).unlink()  # the run keeps its decisions: evaluating it needs the file no more
    again = runner.invoke(app, ["evaluate", str(tmp_path / "runs" / "r"), "--data-dir", str(tiny_root)])
    assert again.exit_code == 0, again.output


def test_review_from_the_command_line_refuses_what_it_cannot_review(tmp_path, tiny_root):
    missing = runner.invoke(app, ["review", str(tmp_path / "none.json")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    held = Review(audit_of(tmp_path, tiny_root))
    try:
        second = runner.invoke(app, ["review", str(tmp_path / "a.json"), "--port", "8765"])
        assert second.exit_code == 2 and "another review of this audit is running" in second.output
    finally:
        held.close()


def test_a_comparisons_audit_shows_each_runs_vote(tmp_path):
    """A comparison's label_issues.json (its test split): beside the flagger's suggestion, what each compared run
    predicted for the flagged text (baselines left out), read from the runs' own predictions."""
    import csv

    from conftest import LABELS, tiny_examples
    from emobench.records.run import RunRecord

    rows = tiny_examples(240, 3)
    with open(tmp_path / "noisy.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for i, (text, label) in enumerate(rows):
            writer.writerow([text, LABELS[(LABELS.index(label) + 1) % 6] if i % 12 == 5 else label])
    done = runner.invoke(app, ["compare", "-d", str(tmp_path / "noisy.csv"), "--models", "tfidf", "-o",
                               str(tmp_path / "c"), "--name", "n", "-q", "--format", "md"])
    assert done.exit_code == 0, done.output
    review = Review(tmp_path / "c" / "n" / "label_issues.json")
    try:
        assert review.items, "the noisy test split flags nothing"
        predictions = RunRecord.load(tmp_path / "c" / "n" / "runs" / "tfidf-s0").predictions("test")
        for item in review.items:
            votes = review.votes[(item.split, item.index)]
            assert set(votes) == {"tfidf-s0"}  # the majority and stratified baselines cast none
            assert votes["tfidf-s0"] == [predictions.labels[int(predictions.y_pred[item.index])]]
        with TestClient(create_review_app(review)) as client:
            shown = client.get("/review/items").json()["items"][0]
            assert shown["votes"] == review.votes[(review.items[0].split, review.items[0].index)]
    finally:
        review.close()


def test_a_review_refuses_a_folder_it_cannot_write_and_an_edit_made_while_it_runs(audit, tmp_path, monkeypatch):
    import errno
    import tempfile

    review = Review(audit)
    try:
        review.decide(0, "keep")
        path = corrections_path(audit)
        path.write_text(path.read_text().replace('"keep"', '"accept"'))  # edited by hand while the review runs
        with pytest.raises(EmobenchError, match="changed since this review last wrote it"):
            review.decide(1, "accept")
        assert '"accept"' in path.read_text()  # the hand edit kept, nothing overwritten
    finally:
        review.close()
    corrections_path(audit).unlink()

    def refused(*args, **kwargs):  # a read-only or immutable folder (chattr +i refuses root too)
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(EmobenchError, match="the review cannot write its decisions here .*copy the audit"):
        Review(audit)
    monkeypatch.undo()
    Review(audit).close()  # the refusal held no lock


def test_a_review_reached_through_a_link_writes_beside_the_audit_and_names_it_whole(audit, tmp_path):
    link = tmp_path / "elsewhere.json"
    link.symlink_to(audit)
    review = Review(link)
    try:
        assert review.path == audit.resolve().with_name("a.corrections.json")
        with pytest.raises(EmobenchError, match=f"its decisions go to {review.path}"):
            Review(audit)
    finally:
        review.close()


def test_an_audit_given_as_corrections_says_what_to_do(audit):
    from emobench.experiments.review import correction_plan

    with pytest.raises(EmobenchError, match=r"a label-issues audit, not a review's decisions; review it first"):
        correction_plan(None, audit)


def test_a_decision_that_cannot_be_saved_is_said_not_a_traceback(service, monkeypatch):
    import errno

    import emobench.experiments.review as review_module

    client, review = service

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(review_module, "write_corrections", full)
    answer = client.post("/review/decide", json={"item": 0, "decision": "keep"})
    assert answer.status_code == 500 and "could not be saved (No space left on device)" in answer.json()["detail"]
    assert review.corrections.decisions == []
