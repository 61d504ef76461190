"""The learning-rate finder, unfreezing and discriminative learning rates.

The lecture's recipe: fit_one_cycle and save stage 1, unfreeze, run lr_find, train on with
slice(lo, hi), save stage 2.
"""

import matplotlib.pyplot as plt

from sgdlab.diagnose import diagnose
from sgdlab.teach import figure_path, show, show_png, step
from sgdlab.vision.lesson_config import lesson_config, stage_one

# %%
step("How high can the learning rate go?", """
    Lesson 4 showed that a learning rate can be too small (many tiny steps) or too large
    (every step overshoots further). For a line we could compute the edge, 2/λmax; for a
    ResNet we measure it. The learning-rate finder trains for a short while on a copy of the
    state, raising the learning rate after every mini-batch from 1e-7 up to 10, and records
    the loss. Then it puts every weight back: it only looks.

    Read the plot from left to right: flat (too small to matter), then falling (learning),
    then shooting up (too large). Pick a rate in the steepest part of the fall that "sticks
    around for quite a while", well before the bottom. The finder's two suggestions: the
    steepest point, and the lowest loss divided by 10.
""")
config = lesson_config()
recipe = config.recipe
dls = config.loaders()
learn = config.learner(dls)
found = learn.lr_find(num_it=config.lr_find_steps)
print(f"swept {len(found.lrs)} learning rates from {found.lrs[0]:.0e} to {found.lrs[-1]:.1g}"
      + (" (stopped early: the loss took off)" if found.stopped_early else ""))
print(f"suggestions: steepest {found.steepest:.1e}, minimum/10 {found.minimum_div_10:.1e}")
print(f"the recipe's lr: {recipe.lr:g}" + (
    " (from scratch a higher rate than fastai's 3e-3 for pretrained models pays off)"
    if config.weights is None else " (fastai's rule of thumb for a pretrained model)"))
show_png(found.plot(figure_path("lr_find")))

# %%
step("Stage 1: fit_one_cycle, then save", """
    The first stage of the recipe is lesson 8's fit_one_cycle. If lesson 8 ran with the same
    work folder (the project folder, or SGDLAB_WORKDIR), its saved model,
    models/bears-stage-1.pth, is loaded instead of training again.
""")
stage_1, trained_now = stage_one(config, learn)
print(f"saved {stage_1}" if trained_now else f"loaded {stage_1} (saved by lesson 8)")
stage_1_loss, stage_1_error = learn.validate()
print(f"stage 1: validation loss {stage_1_loss:.4f}, error rate {stage_1_error:.1%}")

# %%
step("Frozen and unfrozen", """
    With pretrained weights the lecture first trains only the new head: the body is
    "frozen", its weights fixed (only its BatchNorm layers adapt). The body already knows
    edges, textures and fur from ImageNet; a random head would only spoil that knowledge
    while it is still wrong. Once the head is reasonable, unfreeze() lets every layer train.

    Here we train from scratch, with weights=None: this machine cannot download the
    ImageNet weights. Online, vision_learner(dls, "resnet34", weights="imagenet") fetches them
    once (for the lessons: SGDLAB_WEIGHTS=imagenet), and SGDLAB_WEIGHTS=path/to/resnet34.pth
    uses a saved copy; then the first stage trains the head only, exactly as in the lecture.
    From scratch there is nothing to protect, so lesson 8 trained every layer from the start
    and unfreezing changes nothing. The counts show what freezing means.
""")


def trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


learn.freeze()
frozen_count = trainable(learn.model)
learn.unfreeze()
unfrozen_count = trainable(learn.model)
print(f"frozen:   {frozen_count:>12,} trainable parameters (head and BatchNorm layers)")
print(f"unfrozen: {unfrozen_count:>12,} trainable parameters (everything)")
print("stage 1 trained " + ("every layer (from scratch)" if config.weights is None
                            else "the head only (pretrained body)"))

# %%
step("The finder again, unfrozen", """
    Before training on, the lecture runs the finder again on the stage-1 model. Trained
    weights do not like large steps: the loss takes off at a much lower rate than on a fresh
    model, which is why the top learning rate after unfreezing is about 10x lower than
    before.
""")
found_again = learn.lr_find(num_it=config.lr_find_steps)
print(f"suggestions: steepest {found_again.steepest:.1e}, minimum/10 "
      f"{found_again.minimum_div_10:.1e}")
show_png(found_again.plot(figure_path("lr_find_unfrozen")))

# %%
step("Discriminative learning rates: slice(lo, hi)", """
    Early layers detect edges and colours, useful for any photo: they should change least.
    The head is specific to bears: it may change most. slice(lo, hi) spreads the rates
    geometrically over the three layer groups: lo for the first, sqrt(lo * hi) for the
    middle, hi for the head.

    The lecture used slice(3e-5, 3e-4): hi is 10x below the first stage's 3e-3, lo is read
    off the finder. We do the same: hi = lr / 10, and lo = the finder's steepest point,
    kept between hi/100 and hi/10.
""")
hi = recipe.lr / 10
lo = min(max(found_again.steepest, hi / 100), hi / 10)
rates = learn.lrs(slice(lo, hi))
for name, rate in zip(("early layers", "later layers", "head"), rates, strict=True):
    print(f"  {name:13s} lr {rate:.2e}")

# %%
step("Stage 2: train on, unfrozen", """
    fit_one_cycle with the slice: every group follows the one-cycle schedule, each scaled to
    its own top rate. Then save stage 2 for lesson 10.
""")
recorder = learn.fit_one_cycle(recipe.unfreeze_epochs, slice(lo, hi))
stage_2_error = recorder.rows[-1].error_rate
stage_2 = learn.save("bears-stage-2")
print(f"error rate: stage 1 {stage_1_error:.1%}, stage 2 {stage_2_error:.1%}; saved {stage_2}")
print(diagnose(recorder))
steps = range(1, len(recorder.group_lrs) + 1)
fig, ax = plt.subplots(figsize=(7, 4))
for group, name in enumerate(("early layers", "later layers", "head")):
    ax.plot(steps, [lrs[group] for lrs in recorder.group_lrs], label=name)
ax.set(yscale="log", xlabel="mini-batch", ylabel="learning rate (log scale)",
       title=f"one cycle with slice({lo:.1e}, {hi:.1e})")
ax.legend()
show(fig, "discriminative_lrs")
