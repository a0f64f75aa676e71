"""``manage.py evaluate_model --corrections``: the selector's figures, printed as tables or JSON,
for the version chosen by its options."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.diary.test_corrections_accuracy import (  # noqa: F401  (clinic is a fixture)
    BASELINE,
    _assert_figures,
    _expected,
    clinic,
)

pytestmark = pytest.mark.django_db


def _command(*args: str) -> str:
    out = StringIO()
    call_command("evaluate_model", "--corrections", *args, stdout=out)
    return out.getvalue()


def test_evaluate_model_corrections_prints_the_selectors_figures(clinic):  # noqa: F811
    expected = _expected(clinic["pairs"])
    # No model is active: the default is the colour baseline's version, as for new analyses.
    report = json.loads(_command("--json"))
    assert report["model_version"] == BASELINE
    _assert_figures(report["overall"], expected)
    assert report == json.loads(_command("--baseline", "--json"))
    assert report == json.loads(_command("--model-version", BASELINE, "--json"))

    text = _command().splitlines()
    assert text[0] == f"{BASELINE} against clinicians' corrections (3 corrected photos)"
    cells = [cell.strip() for cell in text[3].split("|")[1:-1]]
    assert cells[0] == "all" and cells[1] == "3"
    assert float(cells[2]) == pytest.approx(expected["pooled_f1"], abs=5e-5)
    assert float(cells[4]) == pytest.approx(expected["mean_f1"], abs=5e-5)
    assert [line.split("|")[1].strip() for line in text[4:6]] == ["face", "hands"]
    worst = [
        int(line.split("|")[1]) for line in text[text.index("Worst photos, lowest F1 first:") + 3 :]
    ]
    rows = expected["rows"]
    assert worst == sorted(rows, key=lambda pk: rows[pk]["f1"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nope"], "no registered model named 'nope'"),
        (["--data", "x"], "do not apply"),
        (["--per-image"], "do not apply"),
    ],
)
def test_evaluate_model_corrections_refuses_what_does_not_apply(args, message):
    with pytest.raises(CommandError, match=message):
        _command(*args)


def test_evaluate_model_corrections_without_any_correction_says_so():
    text = _command("--model-version", "model:none:00000000")
    assert "(0 corrected photos)" in text and "| all | 0 | - |" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "--data is required"), (["--model-version", BASELINE], "applies to --corrections")],
)
def test_evaluate_model_without_corrections_still_needs_a_data_folder(args, message, tmp_path):
    data = [] if not args else ["--data", str(tmp_path)]
    with pytest.raises(CommandError, match=message):
        call_command("evaluate_model", *data, *args, stdout=StringIO())
