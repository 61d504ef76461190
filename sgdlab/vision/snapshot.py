"""Everything a learner's training changes, saved and put back: ``with learn.restored():``.

The learning-rate finder trains inside such a block and leaves no trace; so can a lesson that
tries something and wants the learner as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sgdlab.vision.learner import Learner


@contextmanager
def restored(learn: Learner) -> Iterator[Learner]:
    """Inside the block train as you like; afterwards everything is as it was.

    Restored: the weights (BatchNorm statistics included), the optimizer's state and
    hyper-parameters, the learner's random stream, the training loader's random stream (its
    shuffling and augmentation), train/eval mode and the recorder. A ``fit`` after the block
    sees the same batches as one without it.
    """
    weights = {k: v.detach().clone() for k, v in learn.model.state_dict().items()}
    opt_state = copy.deepcopy(learn.opt.state_dict())
    random_state, recorder, training = learn._random.state, learn.recorder, learn.model.training
    loader_rng = getattr(learn.dls.train, "generator", None)
    loader_state = loader_rng.get_state() if loader_rng is not None else None
    try:
        yield learn
    finally:
        learn.model.load_state_dict(weights)
        learn.opt.load_state_dict(opt_state)
        learn._random.state, learn.recorder = random_state, recorder
        if loader_rng is not None:
            loader_rng.set_state(loader_state)
        learn.model.train(training)
