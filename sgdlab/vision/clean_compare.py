"""Did cleaning help? Two models' errors on the same validation photos, and whether the
difference is more than luck.

Both models are measured on the same ``n`` photos, so the fair test is a paired one (McNemar's,
in its exact form): only the photos on which the two models disagree carry evidence. Say
``b`` photos are wrong only before cleaning and ``c`` only after. If cleaning changed nothing,
each disagreement is equally likely to fall either way, so ``b ~ Binomial(b + c, ½)``; the
two-sided p-value is ``P(a split at least as uneven as b : c)``. Below ``alpha`` (0.05) the
verdict names the better model; otherwise it says the evidence is too thin. On the dozen
validation photos of a quick lesson run a difference of one or two photos never counts: a
split of 2 : 0 has p = 0.5, and even 5 : 0 has p = 0.06.

Each error rate is also shown with its standard error ``√(p(1 − p)/n)``, the noise of one
measurement on ``n`` photos (:mod:`sgdlab.diagnose.noise`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sgdlab.errors import SgdlabError

ALPHA = 0.05


def sign_test_p(b: int, c: int) -> float:
    """The exact two-sided p-value of ``b`` against ``c`` disagreements under a fair coin."""
    n, low = b + c, min(b, c)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(low + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class ErrorComparison:
    """Two models on the same ``n`` validation photos.

    Attributes:
        n: the validation photos both were measured on.
        before, after: how many each got wrong.
        only_before, only_after: photos only the first (only the second) got wrong.
        p_value: the exact sign test's two-sided p-value on those disagreements.
        alpha: the level below which the difference counts.
    """

    n: int
    before: int
    after: int
    only_before: int
    only_after: int
    p_value: float
    alpha: float = ALPHA

    @property
    def before_rate(self) -> float:
        return self.before / self.n

    @property
    def after_rate(self) -> float:
        return self.after / self.n

    def standard_error(self, rate: float) -> float:
        """``√(p(1 − p)/n)``: the noise of one error rate measured on ``n`` photos."""
        return math.sqrt(rate * (1 - rate) / self.n)

    @property
    def significant(self) -> bool:
        """The difference is more than luck at level ``alpha``."""
        return self.p_value < self.alpha

    def verdict(self) -> str:
        """One sentence: which is better, or that the evidence is too thin."""
        disagree = (f"the models disagree on {self.only_before + self.only_after} of the "
                    f"{self.n} photos ({self.only_before} wrong only before, "
                    f"{self.only_after} only after; sign test p = {self.p_value:.2g})")
        if self.significant:
            better = "lower" if self.after < self.before else "higher"
            return f"the error after cleaning is {better}, more than luck explains: {disagree}"
        if self.after == self.before:
            change = "both get the same number of photos wrong"
        else:
            change = (f"a difference of {abs(self.after - self.before)} photo(s), within what "
                      f"luck gives on {self.n} photos")
        word = "an improvement" if self.after < self.before else "a change"
        return (f"{change}: {disagree}; the evidence is too thin to call it {word}. More "
                f"validation photos would tell")

    def report(self) -> str:
        """The two error rates with their noise, and the verdict."""
        def rate(k: int, p: float) -> str:
            return f"{k}/{self.n} = {p:.1%} (± {self.standard_error(p):.1%})"

        return (f"error before cleaning: {rate(self.before, self.before_rate)}\n"
                f"error after cleaning:  {rate(self.after, self.after_rate)}\n"
                f"on the same {self.n} validation photos; {self.verdict()}")


def compare_errors(wrong_before: Sequence[bool], wrong_after: Sequence[bool],
                   alpha: float = ALPHA) -> ErrorComparison:
    """Compare two models photo by photo: ``wrong_before[i]`` / ``wrong_after[i]`` say whether
    each got validation photo ``i`` wrong (the same photos, in the same order)."""
    before, after = [bool(w) for w in wrong_before], [bool(w) for w in wrong_after]
    if len(before) != len(after) or not before:
        raise SgdlabError(f"compare the two models on the same validation photos: got "
                          f"{len(before)} and {len(after)} results")
    only_before = sum(b and not a for b, a in zip(before, after, strict=True))
    only_after = sum(a and not b for b, a in zip(before, after, strict=True))
    return ErrorComparison(len(before), sum(before), sum(after), only_before, only_after,
                           sign_test_p(only_before, only_after), alpha)
