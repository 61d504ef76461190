"""Name what went wrong in a training run: the lecture's problems, judged against noise.

* :func:`diagnose` reads a per-epoch table ``(train_loss, valid_loss, error_rate)`` — a
  learner, its recorder, rows, a run record — and tries one small rule per problem
  (:mod:`~sgdlab.diagnose.rules`): learning rate too high, too many epochs, learning rate too
  low, too few epochs, not learning; otherwise nothing wrong. A change of the error rate
  counts only when binomial noise for ``n_valid`` validation images is unlikely to explain it
  (:mod:`~sgdlab.diagnose.noise`).
* :func:`diagnose_history` reads a linear run (:class:`~sgdlab.history.History`) against the
  least-squares optimum (:mod:`~sgdlab.diagnose.history`).
* :func:`read_epoch_table` / :func:`~sgdlab.diagnose.records.read_run` read a run from a file
  (:mod:`~sgdlab.diagnose.records`), and ``sgdlab diagnose PATH`` prints the verdict
  (:mod:`~sgdlab.diagnose.cli`).
"""

from sgdlab.diagnose.cli import add_commands
from sgdlab.diagnose.epochs import diagnose
from sgdlab.diagnose.history import diagnose_history
from sgdlab.diagnose.records import read_epoch_table, read_run
from sgdlab.diagnose.table import EpochTable
from sgdlab.diagnose.verdict import REMEDIES, TITLES, Diagnosis, Problem

__all__ = ["REMEDIES", "TITLES", "Diagnosis", "EpochTable", "Problem", "add_commands",
           "diagnose", "diagnose_history", "read_epoch_table", "read_run"]
