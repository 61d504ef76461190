"""What each exercise asks for and the mistakes students make most often, for ``sgdlab check``."""

from __future__ import annotations

HINTS: dict[int, str] = {
    1: """\
linear(x, a) multiplies every row of x by the coefficients a and adds up: ŷ = x @ a.
x has shape (n, k) and a has shape (k,), so the result has one number per row: shape (n,).
Common mistakes:
  - adding up over the wrong axis: (x * a).sum(0) gives k numbers, one per column;
  - writing the lecture's line a[0]*x[:, 0] + a[1]: that assumes the second column is all
    ones, but linear must work for any x and any number of columns;
  - going through numpy or Python floats: the result must stay a tensor built from a, or
    autograd cannot send gradients back to a.""",
    2: """\
mse(y_hat, y) is the MEAN of the squared differences: ((y_hat - y)**2).mean().
Common mistakes:
  - .sum() instead of .mean(): the loss would grow with the number of points;
  - forgetting the square, or using abs(): negative and positive errors must not cancel, and
    the loss of a miss by 2 is 4, not 2;
  - taking a square root at the end: that is the RMSE, not the MSE;
  - returning loss.item() (a Python float): backward() needs a tensor.""",
    3: """\
mse_grad(x, y, a) is the gradient of L(a) = (1/n) Σ (xᵢ·a − yᵢ)² with respect to a:
    ∇L = (2/n) · xᵀ (x a − y)          a vector of shape (k,)
Work it out with the chain rule: the derivative of u² is 2u, and the derivative of xᵢ·a with
respect to a is the row xᵢ.
Common mistakes:
  - forgetting the 2 from the square, or the 1/n from the mean;
  - the sign: (x a − y), not (y − x a);
  - multiplying by x instead of xᵀ (check the shapes: (k, n) @ (n,) gives (k,));
  - letting autograd do it (requires_grad_(), backward(), torch.autograd.grad): the point is
    the formula, so mse_grad must use plain tensor arithmetic; exercise 4 uses autograd.""",
    4: """\
update(x, y, a, lr) is lesson 3's update(): predict, compute the loss, call loss.backward(),
then inside `with torch.no_grad():` move a IN PLACE by −lr·a.grad (a.sub_(...) or a -= ...)
and zero a.grad (gradients add up otherwise). Return the loss before the step as a float.
Common mistakes:
  - a = a - lr * a.grad makes a NEW tensor inside the function; the caller's a never changes;
  - forgetting a.grad.zero_(): the next backward() adds to the old gradient;
  - a += lr * a.grad climbs the loss instead of descending it;
  - computing the loss again after the step and returning that.""",
    5: """\
sgd_step(params, lr) does for every parameter what update() does for a: under
torch.no_grad(), for each p that has a gradient (skip p.grad is None: that parameter took no
part in the loss), move p in place by −lr·p.grad, then zero p.grad.
Common mistakes:
  - p = p - lr * p.grad only renames p inside the loop; the model's parameter stays the same;
  - forgetting to zero the gradient, or crashing on a parameter whose .grad is None;
  - looping over params twice: model.parameters() is a generator and is empty the second time.""",
    6: """\
momentum_step(params, velocities, lr, beta) keeps a running velocity per parameter:
    v ← beta·v + p.grad        then        p ← p − lr·v
both in place (methods ending in _ such as mul_, add_, sub_ change a tensor in place), then
zero p.grad.
This is torch.optim.SGD(momentum=beta) with dampening 0.
Common mistakes:
  - v = beta*v + p.grad makes a new tensor; the caller's velocity stays zero, so the next step
    has no momentum;
  - moving p with the old velocity, then updating v: update v FIRST;
  - (1 − beta)·p.grad: that is "dampening", an exponential average; torch's default adds the
    whole gradient;
  - forgetting to zero the gradients.""",
    7: """\
minibatches(n, batch_size, generator) shuffles the row indices 0 … n−1 once, drawing the random
order from generator (torch.randperm takes generator=...), then cuts the order into consecutive
pieces of batch_size (Tensor.split does that) and returns them as a list.
Common mistakes:
  - torch.randint draws WITH replacement: some rows appear twice, others never;
  - torch.randperm(n) without generator= uses the global random state, so the same seed does
    not give the same batches and other code's randomness changes;
  - dropping the short last batch, or slicing with off-by-one bounds;
  - not shuffling at all, or making a new generator with a fixed seed: every epoch would then
    see the rows in the same order.""",
    8: """\
accuracy(logits, targets): the predicted class of each row is the index of its largest logit
(argmax along the class axis, dim=1); accuracy is the fraction of rows where that equals the
target, returned as a Python float. error_rate(logits, targets) is 1 − accuracy.
Common mistakes:
  - argmax over dim=0 (the best ROW for each class) instead of dim=1 (the best class per row);
  - counting the correct rows without dividing by n;
  - argmin instead of argmax, or returning a tensor instead of a float.""",
    9: """\
softmax(logits) exponentiates each logit and divides by its row's total, along the LAST
dimension (dim=-1): every row becomes probabilities that sum to 1.
First subtract each row's maximum (logits.max(dim=-1, keepdim=True).values): it cancels in the
fraction, and it keeps exp() from overflowing to inf for logits like 1000.
Common mistakes:
  - summing over dim=0 (over the rows) instead of the last dimension;
  - no max shift: exp(1000) is inf and inf/inf is nan;
  - subtracting the max of the whole tensor, or the min: use each row's own max.""",
    10: """\
cross_entropy(logits, targets) is the MEAN over the rows of −log softmax(logits)[i, targets[i]]:
    Lᵢ = log Σⱼ exp(zᵢⱼ) − zᵢ,tᵢ       (compute log Σ exp with the row's max shifted out)
Pick each row's target entry with logits.gather(1, targets.unsqueeze(1)) or
logits[torch.arange(n), targets]. Its gradient is (softmax − onehot)/n: no extra work needed.
Common mistakes:
  - .sum() instead of .mean(): the loss and its gradient grow with the batch size;
  - log(softmax) computed as log(exp(z)/Σexp(z)) without the shift: inf/nan for big logits;
  - taking the logit of the wrong class, e.g. the largest one instead of the target;
  - returning .item(): backward() needs a tensor.""",
    11: """\
one_cycle_lr(pct, max_lr, div, div_final, pct_start) has two halves, both COSINE:
    pct < pct_start:  cos_anneal(max_lr/div, max_lr, pct/pct_start)
    otherwise:        cos_anneal(max_lr, max_lr/div_final, (pct − pct_start)/(1 − pct_start))
with cos_anneal(start, end, t) = end + (start − end)·(1 + cos(π·t))/2 (math.cos, math.pi).
Common mistakes:
  - straight lines (start + (end − start)·t) instead of the cosine;
  - ending at max_lr/div/div_final: div_final divides max_lr itself;
  - forgetting to rescale t to 0 … 1 within each half.""",
    12: """\
smooth_losses(losses, beta) keeps a running average, starting from avg = 0:
    avg = beta·avg + (1 − beta)·loss        then append  avg / (1 − beta**(i + 1))
The division is the bias correction: without it the first values are pulled towards 0
(the first one would be (1 − beta)·loss, only 2% of it for beta = 0.98).
Common mistakes:
  - leaving out the bias correction;
  - starting avg at the first loss, or swapping beta and 1 − beta;
  - using beta**i instead of beta**(i + 1).""",
    13: """\
suggest_lrs(lrs, losses, window) returns (steepest, minimum_div_10).
  w = max(1, min(window, len(lrs) − 1))
  slope[i] = (losses[i+w] − losses[i]) / (log(lrs[i+w]) − log(lrs[i]))   for i < len − w
  steepest = lrs[i + w//2] for the i with the most negative slope (the first on ties)
  minimum_div_10 = lrs[index of the smallest loss] / 10
Common mistakes:
  - the largest slope (where the loss climbs) instead of the most negative;
  - the lowest loss itself instead of its learning rate divided by 10;
  - slopes in lr instead of log lr: the sweep is exponential, so use math.log.""",
    14: """\
lrs_for_groups(lr, n_groups) returns a list with one float per layer group:
  a number x          → [x] * n_groups
  slice(lo, hi)       → lo·(hi/lo)**(i/(n_groups − 1)) for i = 0 … n_groups − 1 ([hi] if one group)
  slice(hi)           → [hi/10] * (n_groups − 1) + [hi]
  a list or tuple     → its values, as floats
Common mistakes:
  - spreading a slice linearly (lo + (hi − lo)·t): the middle group gets nearly hi;
  - slice(hi) read as the same rate everywhere: it means hi/10 for the body;
  - putting the large rate first: the head is the LAST group.""",
}


def hint(number: int) -> str:
    """The hint for exercise ``number``."""
    return HINTS[number]
