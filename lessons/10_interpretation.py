"""What the classifier gets wrong, and using it.

The confusion matrix, the most confused classes, the top losses of the validation and the
training photos, cleaning them (a notebook grid, the browser, or the terminal), the error
before and after retraining on the cleaned photos, then predicting one photo at a time on the
CPU as in production.
"""

import time

import torch

from sgdlab.teach import figure_path, in_notebook, show_png, step
from sgdlab.vision.checkpoint import load_learner
from sgdlab.vision.clean_compare import compare_errors
from sgdlab.vision.cleaner import Cleaner
from sgdlab.vision.interpret import ClassificationInterpretation, photo_name
from sgdlab.vision.lesson_config import lesson_config, stage_one
from sgdlab.vision.recipe import run_stage
from sgdlab.vision.split import split_items

# %%
step("A trained model", """
    We interpret the model of lesson 9 (models/bears-stage-2.pth), or lesson 8's stage 1,
    when one of them is in the work folder's models/ (the project folder, or SGDLAB_WORKDIR);
    otherwise we train one now with lesson 8's recipe.
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
    two bears of different kinds in one photo. Each photo of the grid is titled with its file
    name, so you can find it in the folder.
""")
k = min(9, n_valid)
top_losses, top_indices = interp.top_losses(k)
for loss, i in zip(top_losses.tolist(), top_indices.tolist(), strict=True):
    actual, predicted = int(interp.targets[i]), int(interp.preds[i])
    print(f"  {photo_name(interp.items[i]):24s} actual "
          f"{interp.classes[actual]:8s} predicted {interp.classes[predicted]:8s} "
          f"loss {loss:5.2f}  p(actual) {interp.probs[i, actual]:.2f}")
show_png(interp.plot_top_losses(k, figure_path("top_losses")))

# %%
step("The training photos too", """
    A mislabelled photo that landed in the training set is never among the validation photos,
    so look at the training photos as well: from_learner(learn, split="train") predicts them
    as it predicts validation photos (in order, without augmentation). Remember that the model
    learnt from them: their losses are lower than they would be on new photos, and a wrong
    label it learnt by heart may not rank high at all.
""")
interp_train = ClassificationInterpretation.from_learner(learn, split="train")
k_train = min(6, len(interp_train.items))
print(f"{len(interp_train.items)} training photos; mean loss {interp_train.losses.mean():.3f} "
      f"(validation: {interp.losses.mean():.3f})")
show_png(interp_train.plot_top_losses(k_train, figure_path("top_losses_train")))

# %%
step("Cleaning the data", """
    The lecture flipped through the top-loss photos in a small notebook tool and deleted the
    bad ones. sgdlab's Cleaner ranks every photo, training and validation, by its loss; each
    decision (keep, delete, relabel to another class) is written to a journal in the data
    folder the moment it is made, so switching class or split, or restarting, loses none.
    Apply moves deleted photos into the folder's .quarantine (listed in its manifest) and
    relabelled ones into their new class folder; Undo puts them back, byte for byte. Nothing
    is ever deleted for real. In a notebook the cell below shows the ImageCleaner grid; in a
    terminal, sgdlab bears clean does the same (the commands are printed below).

    After cleaning, loading the folder again draws a new seed-42 split from the photos that
    are left, so compare models before and after on the same photos. Cleaning usually helps
    only a little: models cope with random noise in the labels; what hurts is noise with a
    pattern, such as every brown black bear filed as a grizzly.
""")
cleaner = Cleaner(learn, config.bears, interpretations=[interp, interp_train])
print(cleaner)
for row in cleaner.rows(which="wrong")[:5]:
    print(f"  {row.path:24s} {row.split:5s} label {row.label:8s} predicted "
          f"{row.prediction:8s} loss {row.loss:5.2f}")
candidates = [row.path for row in cleaner.rows(split="valid", which="wrong")[:3]]
print("photos to look at first:", candidates)
if in_notebook():
    from IPython.display import display

    from sgdlab.vision.clean_widget import ImageCleaner

    display(ImageCleaner(cleaner))
else:
    data, worst = config.bears, cleaner.rows()[:2]
    print(f"""in a terminal (the paths are the two worst photos here; look before you decide):
  sgdlab bears clean --model {saved} --data {data} --list 20     # the worst 20
  sgdlab bears clean --data {data} --delete {worst[0].path}
  sgdlab bears clean --data {data} --relabel {worst[1].path}={worst[1].prediction}
  sgdlab bears clean --data {data} --apply                        # move them
  sgdlab bears clean --data {data} --undo                         # put them back""")

# %%
step("Error before and after retraining on the cleaned data", """
    Does cleaning pay? Train the same recipe twice from the same start, once on every
    training photo and once without the photos cleaning removes, and measure both models on
    the same validation photos. The photos removed are the training photos you marked
    delete (pending in the journal); when you marked none, a stand-in: the wrongly predicted
    training photos with the largest losses (5% of them at most). No file is touched: the
    cleaned training set is a list (relabels are left out, since they would move files).

    Both models see the same photos, so only the photos on which they disagree carry
    evidence: the sign test asks whether those fall one way more often than luck allows.
    On a few dozen validation photos one or two photos decide the difference, and the lecture
    found cleaning helps only a little; so read the verdict, not just the two numbers.
""")


def relative(item):
    return item.relative_to(config.bears).as_posix()


def wrong_after_training(train_items):
    """Train the recipe's first stage (as stage_one does) and say which validation photos
    the model gets wrong."""
    loaders = config.loaders(split=(dls.classes, train_items, dls.valid_items))
    model = config.learner(loaders)
    run_stage(model, config.recipe.stages()[0])
    got = ClassificationInterpretation.from_learner(model)
    return (got.preds != got.targets).tolist()


marked = {name for name, d in cleaner.pending.items() if d.action == "delete"}
to_drop = [p for p in dls.train_items if relative(p) in marked]
source = "the training photos you marked delete"
if not to_drop:
    budget = max(1, round(0.05 * len(dls.train_items)))
    to_drop = [config.bears / r.path for r in cleaner.rows(split="train", which="wrong")[:budget]]
    source = "a stand-in: the wrongly predicted training photos with the largest loss"
comparison = None
if not to_drop:
    print("the model gets every training photo right, so there is nothing to clean here")
else:
    print(f"removing {len(to_drop)} of {len(dls.train_items)} training photos ({source}):",
          ", ".join(relative(p) for p in to_drop))
    # the model above was trained by stage_one on these very loaders when trained_now;
    # a model loaded from lesson 8 or 9 may have trained longer, so train a fair "before"
    wrong_before = ((interp.preds != interp.targets).tolist() if trained_now
                    else wrong_after_training(dls.train_items))
    gone = set(to_drop)
    wrong_cleaned = wrong_after_training([p for p in dls.train_items if p not in gone])
    comparison = compare_errors(wrong_before, wrong_cleaned)
    print(comparison.report())

# %%
step("What deleting the files would do to the split", """
    The comparison above kept the validation photos fixed. Deleting the photos from the folder
    would not: split_items sorts the paths of the photos that are there and sets aside the
    positions randperm(n, seed 42)[:round(0.2 n)] of that sorted list. Deleting changes n, so
    the whole draw changes and most validation photos become training photos (ones the old
    model has seen). Relabelling keeps n and the positions: only the photos sorted between
    the photo's old path and its new one shift one place, and only they can change side.
    Undo restores the same paths, and so the same split.
""")
_, all_train, all_valid = config.full_split()
gone_names = {relative(p) for p in to_drop}
remaining = [p for p in all_train + all_valid if relative(p) not in gone_names]
valid_redrawn = set(split_items(remaining, seed=config.seed)[1])
stay = len(valid_redrawn & set(all_valid))
print(f"deleting those {len(gone_names)} photo(s) would redraw the seed-{config.seed} split: "
      f"{stay} of the {len(all_valid)} validation photos would stay validation photos and "
      f"{len(valid_redrawn) - stay} training photos would become validation photos")

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
