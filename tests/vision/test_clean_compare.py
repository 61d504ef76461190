"""The before/after-cleaning comparison: the exact sign test and its verdict, tested against
pure noise (two equally good models) and against a real improvement.

Oracles: the binomial distribution summed by brute force over every outcome, and simulation.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sgdlab.errors import SgdlabError
from sgdlab.vision.clean_compare import compare_errors, sign_test_p


@pytest.mark.parametrize(("b", "c"), [(0, 0), (2, 0), (5, 0), (6, 0), (3, 4), (1, 9), (7, 7)])
def test_sign_test_is_the_chance_of_a_split_at_least_as_uneven(b, c):
    n = b + c
    outcomes = list(itertools.product((0, 1), repeat=n))   # every way n fair coins can fall
    uneven = abs(b - c)
    by_hand = sum(abs(2 * sum(o) - n) >= uneven for o in outcomes) / len(outcomes)
    assert sign_test_p(b, c) == pytest.approx(by_hand)
    assert sign_test_p(b, c) == sign_test_p(c, b)


@pytest.mark.parametrize(("n", "error"), [(12, 0.3), (96, 0.18), (96, 0.05)])
def test_two_equally_good_models_are_rarely_called_different(n, error):
    rng = np.random.default_rng(0)
    calls = [compare_errors(rng.random(n) < error, rng.random(n) < error).significant
             for _ in range(2000)]
    assert np.mean(calls) <= 0.05


def test_a_real_improvement_on_96_photos_is_seen():
    rng = np.random.default_rng(1)
    seen = []
    for _ in range(500):
        before = rng.random(96) < 0.3
        after = before & (rng.random(96) < 0.4)          # cleaning fixes 60% of its mistakes
        comparison = compare_errors(before, after)
        seen.append(comparison.significant and comparison.after < comparison.before)
    assert np.mean(seen) > 0.9


def test_the_report_says_when_the_evidence_is_too_thin():
    before = [True, True, True, False] + [False] * 8        # 3 of 12 wrong
    after = [False, True, True, False] + [False] * 8        # 2 of 12 wrong
    text = compare_errors(before, after).report()
    assert "3/12 = 25.0% (± 12.5%)" in text and "2/12 = 16.7%" in text
    assert "too thin to call it an improvement" in text and "p = 1" in text
    assert "same number" in compare_errors(before, before).verdict()
    better = compare_errors([True] * 40 + [False] * 56, [False] * 96)
    assert better.significant and "lower, more than luck explains" in better.verdict()
    with pytest.raises(SgdlabError, match="same validation photos"):
        compare_errors([True], [True, False])
