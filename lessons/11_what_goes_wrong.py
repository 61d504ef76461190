"""Things that can go wrong.

The lecture's four problems (learning rate too high or too low, too few or too many epochs)
reproduced on small, cheap runs, each named by sgdlab.diagnose, and the lecture's own tables
diagnosed, with the noise of a small validation set taken into account.
"""

import matplotlib.pyplot as plt

from sgdlab.diagnose import diagnose
from sgdlab.teach import show, step
from sgdlab.vision.learner import vision_learner
from sgdlab.vision.lesson_config import keep_per_class, lesson_config

# %%
step("The lecture's tables", """
    The lecture trained the bear classifier wrongly on purpose, four ways, and printed the
    epoch tables (train_loss, valid_loss, error_rate). sgdlab.diagnose reads such a table and
    names the problem, quoting the numbers behind its verdict:

    * learning rate too high: the validation loss explodes, and no more training undoes it;
    * learning rate too low: the error falls very slowly, train loss stays above valid loss;
    * too few epochs: train loss well above valid loss, and still improving;
    * too many epochs: the error rate gets better for a while, then worse.

    Train loss below valid loss is normal, not overfitting: only an error rate that gets
    worse and stays worse is. And "worse" has to mean more than noise: an error rate on 141
    validation images moves in steps of 1/141, and a model that does not change at all still
    gets a few images more or fewer right from one epoch to the next. diagnose counts a rise
    only when chance alone would rarely produce it, and says how big it had to be. Without
    n_valid= (the number of validation images) it assumes a small validation set of 50, so
    only large changes count. Watch the 40-epoch table: the lecture called it overfitting,
    but its error rate went from 0.068 up to about 0.08 and back down to 0.062 by the end,
    a wobble of one or two images of 141 (about ten of the 800 or more its error rates need),
    and diagnose says so. A run at chance level (0.67 for three classes) gets its own name,
    "not learning": it has learned nothing yet.
""")
TOO_MANY = [0.507, 0.443, 0.410, 0.322, 0.253, 0.192, 0.185, 0.178, 0.145, 0.125, 0.101, 0.095,
            0.084, 0.084, 0.068, 0.079, 0.080, 0.082, 0.081, 0.081, 0.081, 0.071, 0.070, 0.064,
            0.070, 0.064, 0.068, 0.073, 0.071, 0.075, 0.070, 0.062, 0.066, 0.073, 0.073, 0.077,
            0.075, 0.062, 0.066, 0.062]


def straight_line(first: float, last: float, n: int) -> list[float]:
    """``n`` values from ``first`` to ``last``; the notes give only the ends of these losses."""
    return [first + (last - first) * i / (n - 1) for i in range(n)]


lecture_tables = {
    "lr 0.5, 1 epoch": [(12.220007, 1144188288.0, 0.765957)],
    "lr 1e-5, 5 epochs": [(1.349151, 1.062807, 0.609929), (1.373262, 1.045115, 0.546099),
                          (1.346169, 1.006288, 0.468085), (1.334486, 0.978713, 0.453901),
                          (1.320978, 0.978108, 0.446809)],
    "1 epoch": [(0.602823, 0.119616, 0.049645)],
    "40 epochs, 90% held out": list(zip(straight_line(1.51, 0.16, 40),
                                        straight_line(1.04, 0.21, 40), TOO_MANY, strict=True)),
    "default lr, 4 epochs": [(1.030236, 0.179226, 0.028369), (0.561508, 0.055464, 0.014184),
                             (0.396103, 0.053801, 0.014184), (0.316883, 0.050197, 0.021277)],
}
for name, table in lecture_tables.items():
    verdict = diagnose(table)
    print(f"{name:24s} -> {verdict.title}")
    print(f"{'':27s} {verdict.evidence[:150]}{'...' if len(verdict.evidence) > 150 else ''}")

# %%
step("Our own runs, small and cheap", """
    Now we make each mistake ourselves. To keep it cheap on a CPU these runs use small
    images, resnet18 and few photos, and they start from random weights (the lecture's
    started from ImageNet's), so the numbers differ from the lecture's; the patterns are the
    same ones diagnose looks for. Every run prints its epoch table.
""")
config = lesson_config()
classes, all_train, all_valid = config.full_split()
train_photos, valid_photos = config.problem_photos
small = (classes, keep_per_class(all_train, train_photos), keep_per_class(all_valid, valid_photos))
size = config.problem_size
dls = config.loaders(size=size, batch_size=32, split=small)
print(f"{size} px, {config.problem_arch}, {len(small[1])} training and {len(small[2])} "
      f"validation photos")


def new_learner(data, **kwargs):
    return vision_learner(data, config.problem_arch, seed=config.seed, device=config.device,
                          progress=config.progress, **kwargs)


runs = {}

# %%
step("Learning rate too high: fit_one_cycle(1, 0.5)", """
    The lecture's first mistake: a learning rate of 0.5. Every step overshoots, the weights
    grow huge, and the validation loss explodes into the millions or billions. Once the
    weights are ruined no further training can repair them: lower the rate and start again.
""")
runs["lr_too_high"] = new_learner(dls).fit_one_cycle(1, 0.5, on_divergence="stop")
print(diagnose(runs["lr_too_high"]))

# %%
step("Learning rate too low: fit_one_cycle(5, 1e-5)", """
    Steps 1000 times smaller than the recipe's: after five epochs the weights have hardly
    moved, so the error rate hardly moves either, and the training loss stays above the
    validation loss.
""")
runs["lr_too_low"] = new_learner(dls).fit_one_cycle(5, 1e-5)
print(diagnose(runs["lr_too_low"]))

# %%
step("Too few epochs: fit_one_cycle(1, 3e-3)", """
    A good learning rate (fastai's default, 3e-3), but a single epoch: the training loss is
    still above the validation loss (dropout and augmentation make training harder than
    validating), and the model has barely started. It looks like a learning rate that is
    too low; the remedy is more epochs.
""")
runs["too_few_epochs"] = new_learner(dls).fit_one_cycle(1, 3e-3)
print(diagnose(runs["too_few_epochs"]))

# %%
step("Too many epochs", """
    Overfitting is hard to provoke: the lecture switched off everything that protects
    against it (no augmentation, no dropout, no weight decay), held out 90% of the photos
    and trained for 40 epochs. We do the same: a head without dropout, weight decay 0, no
    augmentation, a handful of training photos per class and every other photo held out
    for validation (the more validation photos, the smaller the change they can show),
    many epochs at a constant learning rate. The training loss goes to almost 0: the model
    learns those few photos by heart, and the error rate on the others gets better, then
    worse. diagnose names it only if the last epochs are worse than the best ones by more
    than the noise of this many validation images; its evidence says by how much they had
    to be worse.
""")
few_train = keep_per_class(all_train, config.overfit_photos)
held_out = sorted(set(all_train + all_valid) - set(few_train))   # every other photo
few_photos = (classes, few_train, held_out)
memorize = config.loaders(size=size, batch_size=8, augment=False, split=few_photos)
print(f"{len(few_photos[1])} training photos, {len(few_photos[2])} validation photos")
overfit = new_learner(memorize, head="linear", wd=0.0)
runs["too_many_epochs"] = overfit.fit(config.overfit_epochs, 1e-3)
print(diagnose(runs["too_many_epochs"]))

# %%
step("Did diagnose name each mistake?", """
    Each run against the verdict. These are single runs on tiny data, so a reproduction can
    come out weaker than the lecture's: on another machine, or with another seed, a run may
    land on a neighbouring verdict (too few epochs and a low learning rate look alike after
    one epoch; a learning rate too low from random weights may still be at chance, "not
    learning"; a rise of the error rate within noise is "nothing wrong"). That is the
    honest state of such rules of thumb: they read patterns, not causes, and a small
    validation set cannot show small changes. Epochs count from 1 here as in the tables.
""")
verdicts = {intended: diagnose(recorder).problem for intended, recorder in runs.items()}
for intended, found in verdicts.items():
    print(f"  {intended:16s} diagnosed as {found:16s} "
          f"{'reproduced' if found == intended else 'NOT reproduced this time'}")
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
for intended, recorder in runs.items():
    epochs = [row.epoch for row in recorder.rows]  # 1, 2, ... as in the printed table
    axes[0].plot(epochs, [row.error_rate for row in recorder.rows], "o-", label=intended)
many = runs["too_many_epochs"].rows
axes[1].plot([r.epoch for r in many], [r.train_loss for r in many], label="train loss")
axes[1].plot([r.epoch for r in many], [r.valid_loss for r in many], label="valid loss")
axes[0].set(xlabel="epoch", ylabel="error rate", title="error rate of the four runs")
axes[1].set(xlabel="epoch", ylabel="cross-entropy", title="too many epochs: the losses")
axes[0].legend()
axes[1].legend()
show(fig, "four_problems")
