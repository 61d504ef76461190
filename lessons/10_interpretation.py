"""What the classifier gets wrong, and using it.

The confusion matrix, the most confused classes, the top losses (the photos worth a look before
cleaning the data), then predicting one photo at a time on the CPU as in production.
"""

import time

import torch

from sgdlab.teach import figure_path, show_png, step
from sgdlab.vision.checkpoint import load_learner
from sgdlab.vision.interpret import ClassificationInterpretation
from sgdlab.vision.lesson_config import lesson_config, stage_one

# %%
step("A trained model", """
    We interpret the model of lesson 9 (models/bears-stage-2.pth), or lesson 8's stage 1,
    when one of them is in this folder; otherwise we train one now with lesson 8's recipe.
""")
config = lesson_config()
dls = config.loaders()
learn = config.learner(dls)
saved, trained_now = stage_one(config, learn, "bears-stage-2", "bears-stage-1")
print(f"trained and saved {saved}" if trained_now else f"loaded {saved}")

# %%
step("Predictions on every validation photo", """
    get_preds runs the model on the validation set in its fixed order and returns, for
    photo i, the probabilities of the three classes, the actual class, and the loss
    -log p(actual class): near 0 when the model is confidently right, large when it is
    confidently wrong (p = 0.01 gives 4.6).
""")
interp = ClassificationInterpretation.from_learner(learn)
n_valid = len(interp.items)
wrong = int((interp.preds != interp.targets).sum())
print(f"{wrong} of {n_valid} validation photos wrong: error rate {wrong / n_valid:.1%}")
print("first three rows of probabilities:")
print(interp.probs[:3])

# %%
step("The confusion matrix", """
    Row = the actual class, column = the prediction; the diagonal counts the photos it got
    right. In the lecture a single black bear was taken for a grizzly. most_confused lists
    the off-diagonal cells, largest first.
""")
print(interp.confusion_table())
confusion = interp.confusion_matrix()
print("most confused (actual, predicted, photos):", interp.most_confused())
show_png(interp.plot_confusion_matrix(figure_path("confusion_matrix")))

# %%
step("The top losses", """
    Sort the validation photos by their loss: at the top are the photos the model was
    confidently wrong about, or least sure of. They are the ones worth looking at: often a
    mislabelled photo (a grizzly in the black-bear folder), a picture of something else, or
    two bears of different kinds in one photo.
""")
k = min(9, n_valid)
top_losses, top_indices = interp.top_losses(k)
for loss, i in zip(top_losses.tolist(), top_indices.tolist(), strict=True):
    actual, predicted = int(interp.targets[i]), int(interp.preds[i])
    print(f"  {interp.items[i].relative_to(config.bears).as_posix():24s} actual "
          f"{interp.classes[actual]:8s} predicted {interp.classes[predicted]:8s} "
          f"loss {loss:5.2f}  p(actual) {interp.probs[i, actual]:.2f}")
show_png(interp.plot_top_losses(k, figure_path("top_losses")))

# %%
step("Cleaning the data", """
    The lecture used a small tool to flip through the top-loss photos and remove the bad
    ones, the validation set first, then the training set. The rule sgdlab keeps: never
    delete a photo, move it aside, so that a person can change their mind. Look at the
    top-losses figure; to take one out, move it into a quarantine folder:

        mkdir -p bears/.quarantine/black && mv bears/black/00000042.jpg bears/.quarantine/black/

    The dataset never reads hidden folders. (sgdlab bears verify does this for files that
    are not pictures at all.) Cleaning usually helps only a little: models cope with random
    noise in the labels; what hurts is noise with a pattern, such as every brown black bear
    filed as a grizzly.
""")
candidates = [interp.items[i] for i in top_indices.tolist()
              if int(interp.preds[i]) != int(interp.targets[i])][:3]
print("photos to look at first:", [p.relative_to(config.bears).as_posix() for p in candidates])

# %%
step("Production: one photo at a time, on the CPU", """
    In production a model usually runs on a CPU: one photo at a time, a fraction of a second
    each, and far simpler to run than a GPU server. load_learner rebuilds the model from the
    checkpoint alone (class names, architecture, image size and normalization are stored
    with the weights); predict applies the validation transform and returns the class, its
    index and the probabilities.
""")
inference = load_learner(saved, device="cpu")
photo = interp.items[0]
name, index, probs = inference.predict(photo)
print(f"{photo.relative_to(config.bears).as_posix()}: {name} (index {index})")
for i in probs.argsort(descending=True).tolist():
    print(f"  {inference.classes[i]:8s} {probs[i].item():.4f}")
agreement = (probs - interp.probs[0]).abs().max().item()
print(f"largest difference from the validation run's probabilities: {agreement:.1e}")
start = time.perf_counter()
with torch.inference_mode():
    for item in interp.items[:5]:
        inference.predict(item)
per_photo = (time.perf_counter() - start) / min(5, n_valid)
print(f"{per_photo * 1000:.0f} ms per photo on the CPU at {inference.size} px")
