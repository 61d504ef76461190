"""Many workers, one SGD step.

Data parallelism with torch.distributed: k processes each take a shard of every mini-batch,
all-reduce their gradients, and take exactly the step one process takes on the whole batch.
"""

import os
import sys
from datetime import timedelta

import torch
import torch.distributed as dist

import sgdlab
from sgdlab.errors import ParallelRunError
from sgdlab.launch import run_on_processes
from sgdlab.parallel import data_parallel_sgd, linear_worker, shard, single_process_sgd
from sgdlab.teach import NO_PAUSE_ENV, step

if "--no-pause" in sys.argv[1:]:
    os.environ[NO_PAUSE_ENV] = "1"
# Launched by torchrun: join its group; only rank 0 talks, and nobody waits for Enter (a rank
# paused at a step would leave the others waiting inside a collective).
under_torchrun = "RANK" in os.environ and "WORLD_SIZE" in os.environ
if under_torchrun and not dist.is_initialized():
    os.environ[NO_PAUSE_ENV] = "1"
    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    if dist.get_rank() != 0:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silent for the rest of the run

x, y = sgdlab.make_linear_data(n=100, a=(3.0, 2.0), noise="uniform")
lr, epochs, batch_size, seed = 0.1, 25, 25, 0

# %%
step("One batch, two workers", """
    Take one mini-batch of 25 rows and give it to two workers: rank 0 gets 13 rows, rank 1
    gets 12. Each computes the gradient of the mse on its own rows, g_0 and g_1 (a mean over
    13 and a mean over 12). What should they send each other so that both hold the gradient
    of all 25 rows?

    The plain average (g_0 + g_1)/2 is close but wrong: it gives each of rank 1's rows a bit
    more weight. Weight each mean by its share of the batch instead: (13/25) g_0 + (12/25) g_1
    = (1/25) x (sum of all 25 per-row gradients) = the gradient of the whole batch, exactly.
""")
a = torch.tensor([-1.0, 1.0], requires_grad=True)
batch = sgdlab.minibatches(100, batch_size, torch.Generator().manual_seed(seed))[0]
shards = [shard(batch, rank, 2) for rank in range(2)]
gradients = []
for rows in [batch, *shards]:
    (gradient,) = torch.autograd.grad(sgdlab.mse(x[rows] @ a, y[rows]), a)
    gradients.append(gradient)
whole, g0, g1 = gradients
plain = (g0 + g1) / 2
weighted = len(shards[0]) / len(batch) * g0 + len(shards[1]) / len(batch) * g1
print("shard sizes:", [len(rows) for rows in shards])
print("gradient of the whole batch :", whole.tolist())
print("plain average of the shards :", plain.tolist(),
      f" off by {(plain - whole).abs().max().item():.2e}")
print("weighted by n_i/n           :", weighted.tolist(),
      f" off by {(weighted - whole).abs().max().item():.2e} (float32 rounding)")

# %%
step("The linear scaling rule", """
    So k workers with batch_size rows each take the step of one batch k times bigger. That
    batch's gradient is less noisy, but an epoch now has k times fewer steps: at the same
    learning rate the model moves less per epoch. The rule of thumb (Goyal et al., 2017):
    multiply the learning rate by k. Below, 10 epochs each: one worker with batches of 10,
    then k = 4 workers (batches of 40) at the same lr and at 4x the lr, then k = 10 (the
    whole data set per step) at 10x. The rule has limits: k x lr must stay under the
    stability limit 2/λmax of lesson 4, so past some k it diverges instead of speeding up.
""")
limit = sgdlab.max_stable_lr(x)
best = sgdlab.mse(x @ sgdlab.least_squares(x, y), y).item()
scaling = {}
for workers, scaled in ((1, 0.1), (4, 0.1), (4, 0.4), (10, 0.1), (10, 1.0)):
    run = single_process_sgd(x, y, lr=scaled, epochs=10, batch_size=10 * workers, seed=seed)
    loss = sgdlab.mse(x @ run.params[-1], y).item()
    scaling[(workers, scaled)] = loss
    print(f"k = {workers:2d} (batch {10 * workers:3d}), lr {scaled:.1f}: "
          f"{run.params.shape[0] - 1:3d} steps, loss on all data {loss:.4f}")
print(f"least squares: {best:.4f}; stability limit of full-batch steps 2/λmax = {limit:.3f}")
for (workers, scaled), loss in scaling.items():
    if scaled >= limit:
        print(f"k = {workers}: lr {scaled:.1f} is over that limit, so scaling the lr by k fails "
              f"here (loss {loss:.4f} after 10 epochs instead of settling near {best:.4f})")

# %%
step("Two processes, one SGD", f"""
    Now for real, with torch.distributed (the gloo backend, on this CPU): every rank draws the
    same shuffled batches of {batch_size} from the same seed, keeps its shard, computes its
    gradient weighted by n_i/n, and dist.all_reduce sums the gradients across the ranks;
    then each rank steps with sgdlab.SGD, so all copies of the model stay equal. We compare
    with one process stepping on every whole batch: {epochs} epochs x 4 batches = 100 steps.
    Under torchrun this uses torchrun's ranks; run alone, the lesson starts 2 processes itself.
""")
reference = single_process_sgd(x, y, lr=lr, epochs=epochs, batch_size=batch_size, seed=seed)
if under_torchrun:
    parallel = data_parallel_sgd(x, y, lr=lr, epochs=epochs, batch_size=batch_size, seed=seed)
    world_size, how = dist.get_world_size(), "torchrun's processes"
else:
    try:
        parallel = run_on_processes(linear_worker, 2, (100, (3.0, 2.0), lr, epochs,
                                                       batch_size, seed), timeout=120)[0]
        world_size, how = 2, "2 processes started by this lesson"
    except ParallelRunError as err:
        print(f"could not start 2 processes here ({err}); running the same code with world "
              f"size 1 instead, which shows only that the code path matches")
        parallel = data_parallel_sgd(x, y, lr=lr, epochs=epochs, batch_size=batch_size,
                                     seed=seed)
        world_size, how = 1, "1 process (the 2-process run could not start)"
max_difference = (parallel.params - reference.params).abs().max().item()
steps = parallel.params.shape[0] - 1
print(f"world size {world_size} ({how}); shard sizes of the first batch: "
      f"{parallel.shard_sizes[0].tolist()}; {steps} steps")
print(f"single process: a = {reference.params[-1].tolist()}")
print(f"data-parallel : a = {parallel.params[-1].tolist()}")
print(f"(float32 keeps about 7 digits, eps = {torch.finfo(torch.float32).eps:.1e}: the two runs "
      f"add the same numbers in a different order, so they may differ in the last bits)")
print(f"data-parallel vs single process: max |Δθ| = {max_difference:.3g}")
if under_torchrun:
    dist.destroy_process_group()
