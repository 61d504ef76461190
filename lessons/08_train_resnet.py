"""Training ResNet34 with the same SGD.

The bear classifier trained by sgdlab.SGD, the optimizer of lessons 3-5: one step by hand,
fit_one_cycle and its epoch table, what diagnose says, saving the model, and then the same
training with your own exercise solutions.
"""

import os
from pathlib import Path

import torch
from torch.nn import functional as F

import sgdlab
from sgdlab.diagnose import diagnose
from sgdlab.exercises import reference
from sgdlab.teach import figure_path, show_png, step
from sgdlab.vision.checkpoint import read_checkpoint
from sgdlab.vision.lesson_config import lesson_config

# %%
step("The data and the model", """
    The photos of lesson 7 go into a ResNet: a deep stack of convolutions (the "body") that
    turns an image into 512 feature maps, and a small "head" that turns those into one score
    per class. torchvision builds the body; sgdlab adds a fastai-style head for our three
    classes.

    The lecture starts from weights pretrained on ImageNet. This machine cannot download
    them, so unless SGDLAB_WEIGHTS names a weights file, the body starts from random numbers
    and we train from scratch: the same code, more epochs.
""")
config = lesson_config()
recipe = config.recipe
dls = config.loaders()
learn = config.learner(dls)
n_params = sum(p.numel() for p in learn.model.parameters())
print(dls)
print(f"{recipe.arch}: {n_params:,} parameters, "
      + ("random initial weights (from scratch)" if config.weights is None
         else f"body weights from {config.weights}"))
print("the head:", learn.model.head)

# %%
step("The optimizer is lesson 5's SGD", """
    No torch.optim here: the learner's optimizer is sgdlab.SGD, the class whose update rule
    you wrote by hand in lessons 3 to 5, grown up with momentum and weight decay:

        g = grad + wd * p;   v = momentum * v + g;   p = p - lr * v

    It holds one parameter group per layer group (early layers, later layers, head), so that
    each group can get its own learning rate (lesson 9).
""")
print("optimizer:", type(learn.opt).__module__ + "." + type(learn.opt).__name__)
print("same class as sgdlab.SGD:", type(learn.opt) is sgdlab.SGD)
for i, group in enumerate(learn.opt.param_groups):
    size = sum(p.numel() for p in group["params"])
    print(f"  group {i}: {size:>10,} parameters, momentum {group['momentum']}, "
          f"weight decay {group['weight_decay']:g}")

# %%
step("One step by hand", """
    One training step is lesson 3's update() on a bigger model: predict a mini-batch,
    measure the cross-entropy loss, back-propagate, step. We check the step on the last
    layer's weights against the formula: on the first step the velocity v is just g, so
    the new weights must be p - lr * (grad + wd * p).
""")
model = learn.model
model.train()
lr = recipe.lr
learn.set_hyper([lr] * learn.n_groups, momentum=0.9)
xb, yb = next(iter(dls.train))
loss = F.cross_entropy(model(xb), yb)
loss.backward()
weight = model.head[-1].weight
before, grad = weight.detach().clone(), weight.grad.detach().clone()
learn.opt.step()
learn.opt.zero_grad()
expected = before - lr * (grad + learn.opt.param_groups[-1]["weight_decay"] * before)
step_error = (weight.detach() - expected).abs().max().item()
print(f"loss of the batch before the step: {loss.item():.4f}")
print(f"largest |new weight - formula|: {step_error:.2e}")

# %%
step("fit_one_cycle", """
    Training for real: fit_one_cycle(epochs, lr). The learning rate starts at lr/25, warms
    up to lr over the first quarter of the batches, then glides down to almost nothing
    (cosine curves), while momentum does the opposite, 0.95 -> 0.85 -> 0.95. Large steps
    in the middle explore; small steps at the end settle.

    After every epoch the learner prints a row: the mean training loss, the validation loss,
    the error rate on the validation photos (1 - accuracy) and the time.
""")
learn = config.learner(dls)  # a fresh model: the step above does not count
print(f"{recipe.arch}, {'from scratch' if config.weights is None else 'body frozen'}: "
      f"fit_one_cycle({recipe.epochs}, {recipe.lr:g}), batch size {recipe.batch_size}, "
      f"weight decay {recipe.wd:g}")
recorder = learn.fit_one_cycle(recipe.epochs, recipe.lr)
first_error, final_error = recorder.rows[0].error_rate, recorder.rows[-1].error_rate
print(f"error rate: {first_error:.1%} after the first epoch, {final_error:.1%} at the end")
if config.quick:
    print("(a quick run: tiny images and one epoch, so expect little)")

# %%
step("Loss and schedule, batch by batch", """
    The recorder kept every batch's loss, learning rate and momentum. The loss is noisy from
    batch to batch (each batch is a different sample of the photos, as in lesson 5) but
    falls; the two schedules are the one-cycle shapes.
""")
show_png(recorder.plot_loss(figure_path("loss")))
show_png(recorder.plot_lr(figure_path("schedule")))

# %%
step("What diagnose says", """
    sgdlab.diagnose reads the epoch table and names the lecture's four problems (learning
    rate too high or too low, too few or too many epochs), says when the model has learned
    nothing yet, or says nothing is wrong, with the numbers behind its verdict. Lesson 11
    provokes each problem on purpose.

    It judges against noise. The error rate is measured on a few dozen validation photos,
    so it moves by a photo or two from one epoch to the next even when the model does not
    get better or worse. The recorder tells diagnose how many validation photos there are,
    and diagnose counts a change only when chance alone would rarely make it, saying how
    big it had to be. From scratch the early epochs are jumpy: at the top of the one-cycle
    schedule the weights move a lot; such a bump in the middle of a run is not overfitting,
    only worse last epochs are.
""")
verdict = diagnose(recorder)
print(verdict)
errors = [row.error_rate for row in recorder.rows]
best_epoch = min(range(len(errors)), key=errors.__getitem__)
print(f"lowest error rate {errors[best_epoch]:.1%} at epoch {best_epoch + 1}, "
      f"last epoch {errors[-1]:.1%}; one photo is {1 / len(dls.valid_items):.1%}")

# %%
step("Save it: stage 1", """
    learn.save writes the weights together with what predicting needs later: the class names
    in training order, the architecture, the image size and the normalization. Lesson 9
    carries on from this file (models/bears-stage-1.pth); lesson 10 predicts with it.
""")
saved = learn.save("bears-stage-1")
checkpoint = read_checkpoint(saved)
print(f"saved {saved}")
print({key: checkpoint[key] for key in ("arch", "classes", "size", "mean", "std")})
with torch.no_grad():
    same = all(torch.equal(a.cpu(), b) for a, b in zip(learn.model.state_dict().values(),
                                                       checkpoint["state_dict"].values(),
                                                       strict=True))
print("the file holds exactly the trained weights:", same)

# %%
step("Now train it with your own code", """
    In the exercises you write the arithmetic of this training yourself: momentum_step
    (exercise 6), cross_entropy (10), one_cycle_lr (11) and lrs_for_groups (14). The learner
    can train with your file instead of sgdlab's functions:

        learn = vision_learner(dls, "resnet34", impl="my_sgd.py")
        sgdlab bears train --impl my_sgd.py             (the same from a terminal)

    Your momentum_step then makes every update (sgdlab adds the weight decay to the gradient
    first), your cross_entropy is the training loss, your one_cycle_lr and lrs_for_groups
    set the learning rates. A function you have not written yet (it still raises
    NotImplementedError) comes from sgdlab, with a note; the line above the epoch table says
    whose code trains. The validation loss and error rate stay sgdlab's, so a wrong loss
    cannot grade itself.

    Below: your file if SGDLAB_IMPL names one, else sgdlab's reference solutions loaded as
    if they were a student's file. Those are the same functions, so the table matches the one
    above up to float rounding (a from-scratch ResNet magnifies a last-digit difference over
    the batches, so expect the same story, not the same digits). Write the template with
    `sgdlab exercises init my_sgd.py`, check it with `sgdlab check all --impl my_sgd.py`.
""")
impl = Path(os.environ.get("SGDLAB_IMPL") or reference.__file__)
print(f"training with the functions of {impl}")
own = config.learner(dls, impl=impl)  # the same start as above: the same seed
own_recorder = own.fit_one_cycle(recipe.epochs, recipe.lr)
print(f"final error rate: {own_recorder.rows[-1].error_rate:.1%} with {impl.name}, "
      f"{recorder.rows[-1].error_rate:.1%} with sgdlab's own functions")
print(diagnose(own_recorder))
