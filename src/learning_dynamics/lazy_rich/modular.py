"""Modular addition with an output scale: lazy to rich beyond the toy model (chapter 3).

The modular-addition task of Kumar, Bordelon, Gershman & Pehlevan (ICLR 2024,
Fig. 2).  A pair ``(a, b)`` is coded by the concatenated one-hot vector
``x = (e_a, e_b)`` of dimension ``2p``; a two-layer network with quadratic
activation and no biases::

    g(x; W1, W2) = (1/N) W2 (W1 x)**2,   W1: (N, 2p),  W2: (p, N),  entries N(0, 1),

is trained on the mean squared error to output the one-hot code of
``(a + b) mod p``, by full-batch gradient descent without weight decay.  The
output scale enters as in the toy model: the trained function is
``f = alpha (g(theta) - g(theta0))`` (centred, the default) or ``f = alpha g(theta)``
(uncentred, the paper's network), and the learning rate is ``eta0 / alpha**2``.

Because ``x`` is a sum of two one-hot vectors, ``W1 x = W1[:, a] + W1[:, p + b]``;
the gradients are written out by hand and all ``alpha`` are trained side by side as
one stacked torch float32 array on one CPU thread.

Public functions: :func:`modular_addition_data` (split and codes),
:func:`train_modular_addition` (the fast stacked trainer),
:func:`train_modular_addition_autograd` (the straightforward torch-autograd loop it
replaces, one network at a time) and :func:`steps_to_accuracy`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..device import single_threaded
from ..seeding import make_rng
from ..validation import (
    check_bool,
    check_choice,
    check_finite_loss,
    check_float,
    check_int,
    check_memory,
    check_seed,
    check_work,
)
from .data import positive_values
from .schedule import ALPHA_MAX, ALPHA_MIN, MAX_STEPS

__all__ = [
    "ModularData",
    "ModularResult",
    "modular_addition_data",
    "train_modular_addition",
    "train_modular_addition_autograd",
    "steps_to_accuracy",
]


@dataclass(frozen=True)
class ModularData:
    """All ``p**2`` pairs of ``(a + b) mod p`` and a train/test split.

    Attributes
    ----------
    p : int
        Modulus.
    a, b : ndarray of int, shape (p**2,)
        The two summands of each pair.
    labels : ndarray of int, shape (p**2,)
        ``(a + b) mod p``.
    train, test : ndarray of int
        Indices of the training and held-out pairs (disjoint, together all pairs).
    """

    p: int
    a: np.ndarray
    b: np.ndarray
    labels: np.ndarray
    train: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class ModularResult:
    """Accuracy curves of modular-addition runs (one row per ``alpha``).

    Attributes
    ----------
    steps : ndarray, shape (T,)
        Gradient-descent steps at which accuracies were recorded.
    train_acc, test_acc : ndarray, shape (A, T)
        Fraction of training / held-out pairs whose arg-max output is ``(a + b) mod p``.
    train_loss : ndarray, shape (A, T)
        Training mean squared error (mean over pairs and the ``p`` outputs).
    weight_norm : ndarray, shape (A, T)
        ``sqrt(|W1|_F**2 + |W2|_F**2)``.
    alphas : ndarray, shape (A,)
        Output scales.
    p : int
        Modulus.
    centred : bool
        Whether the output was ``alpha (g - g0)`` (True) or ``alpha g`` (False).
    """

    steps: np.ndarray
    train_acc: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray
    weight_norm: np.ndarray
    alphas: np.ndarray
    p: int
    centred: bool


def modular_addition_data(
    p: int = 23, train_fraction: float = 0.9, seed=0
) -> ModularData:
    """All pairs ``(a, b)``, ``0 <= a, b < p``, split at random into train and test."""
    p = check_int("p", p, minimum=3)
    # before any work: a, b, labels, the permutation and its temporaries, int64
    check_memory("p", p, 48.0 * p * p, what=f"six int64 arrays of p^2 = {p * p} pairs")
    train_fraction = check_float(
        "train_fraction",
        train_fraction,
        minimum=0.0,
        maximum=1.0,
        min_inclusive=False,
        max_inclusive=False,
    )
    seed = check_seed("seed", seed)
    n_train = int(round(train_fraction * p * p))
    if n_train < 1 or n_train >= p * p:
        raise ValueError(
            "train_fraction must leave at least one training and one test pair; "
            f"got {train_fraction}"
        )
    a, b = np.divmod(np.arange(p * p), p)
    perm = make_rng(seed, stream=2).permutation(p * p)
    return ModularData(
        p=p,
        a=a,
        b=b,
        labels=(a + b) % p,
        train=np.sort(perm[:n_train]),
        test=np.sort(perm[n_train:]),
    )


def _init(p: int, width: int, seed: int):
    rng = make_rng(seed, stream=3)
    return (
        rng.standard_normal((width, 2 * p)).astype(np.float32),
        rng.standard_normal((p, width)).astype(np.float32),
    )


def _check_training_args(
    p, alphas, width, train_fraction, steps, eta0, record_every, seed, centred
):
    data = modular_addition_data(p, train_fraction, seed)
    # below ALPHA_MIN the step eta0 / alpha^2 overflows float32 (the knob is alpha)
    al = positive_values("alphas", alphas, minimum=ALPHA_MIN, maximum=ALPHA_MAX)
    width = check_int("width", width, minimum=1)
    steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    record_every = check_int("record_every", record_every, minimum=1)
    # before any work: float32 arrays of the stacked trainer (weights and their
    # updates, one-hot inputs, outputs, hidden activations) and its products
    n_a, pairs = al.size, data.p * data.p
    floats = (9 * n_a * data.p * width + 9 * data.p * pairs + 3 * n_a * data.p * pairs
              + 5 * n_a * width * pairs)
    check_memory("width", width, 4.0 * floats,
                 what=f"float32 weights, inputs and activations at p = {data.p}, "
                 f"{n_a} alphas")
    per_step = 16.0 * n_a * width * data.p * pairs  # five products of (N, 2p, P)
    check_work("steps", steps, steps * per_step,
               what=f"{per_step:.3g} per step at p = {data.p}, width = {width}, "
               f"{n_a} alphas")
    eta0 = check_float("eta0", eta0, minimum=0.0, min_inclusive=False)
    centred = check_bool("centred", centred)
    return data, al, width, steps, eta0, record_every, centred


_HINT = (
    "the step eta0 / alpha^2 is too large for these weights "
    "(eta0 = 100 is stable at width 100 for alpha >= 0.5); "
    "lower eta0 or raise alpha"
)


def train_modular_addition(
    p: int = 23,
    *,
    alphas=(0.5, 1.0, 2.0),
    width: int = 100,
    train_fraction: float = 0.9,
    steps: int = 3000,
    eta0: float = 100.0,
    record_every: int = 50,
    centred: bool = True,
    seed=0,
) -> ModularResult:
    """Train one quadratic network per ``alpha`` on ``(a + b) mod p`` (fast path).

    Full-batch gradient descent.  All networks start from the same weights (drawn from
    ``seed``) and see the same split; they differ only in ``alpha`` and the learning
    rate ``eta0 / alpha**2``.  Gradients are written out by hand, and the ``A``
    networks are one stacked torch float32 array (run on one CPU thread).

    Parameters
    ----------
    p : int
        Modulus (>= 3); there are ``p**2`` pairs.
    alphas : sequence of float
        Output scales (> 0).
    width : int
        Hidden units ``N``.
    train_fraction : float
        Fraction of the pairs used for training, in (0, 1); the rest is the test set.
    steps, record_every : int
        Number of GD steps and the recording interval (the last step is recorded too).
    eta0 : float
        Learning rate at ``alpha = 1`` (the paper's 100).
    centred : bool
        Train ``alpha (g - g0)`` (True) or ``alpha g`` (False).
    seed : int
        Seed of the split and of the initial weights.
    """
    data, al, width, steps, eta0, record_every, centred = _check_training_args(
        p, alphas, width, train_fraction, steps, eta0, record_every, seed, centred
    )
    import torch

    with (
        single_threaded()
    ):  # the matrices are tiny: one thread is fastest and avoids oversubscription
        return _train_stacked(
            torch, data, al, width, steps, eta0, record_every, centred, seed
        )


def _train_stacked(
    torch, data, al, width, steps, eta0, record_every, centred, seed
) -> ModularResult:
    p, A = data.p, al.size
    W1_0, W2_0 = _init(p, width, seed)
    W1 = torch.from_numpy(W1_0).repeat(A, 1, 1)  # (A, N, 2p)
    W2 = torch.from_numpy(W2_0).repeat(A, 1, 1)  # (A, p, N)
    X = torch.zeros(p * p, 2 * p)
    X[torch.arange(p * p), torch.from_numpy(data.a)] = 1.0
    X[torch.arange(p * p), torch.from_numpy(p + data.b)] = 1.0
    Xt = X.T.contiguous()  # (2p, p^2)
    labels = torch.from_numpy(data.labels)
    Y = torch.nn.functional.one_hot(labels, p).float().T.contiguous()  # (p, p^2)
    c = torch.tensor(al / width, dtype=torch.float32)[:, None, None]  # alpha / N
    lr = torch.tensor(eta0 / al**2, dtype=torch.float32)[:, None, None]
    g0 = c * (W2 @ (W1 @ Xt) ** 2) if centred else torch.zeros(A, p, p * p)
    tr, te = torch.from_numpy(data.train), torch.from_numpy(data.test)
    Xtr, Xtr_t = X[tr].contiguous(), Xt[:, tr].contiguous()
    Ytr, g0tr = Y[:, tr].contiguous(), g0[:, :, tr].contiguous()
    scale = 2.0 / (tr.numel() * p)
    rec = {"steps": [], "tr": [], "te": [], "loss": [], "norm": []}
    for k in range(steps + 1):
        if k % record_every == 0 or k == steps:
            out = c * (W2 @ (W1 @ Xt) ** 2) - g0  # (A, p, p^2)
            pred = out.argmax(dim=1)
            loss = ((out[:, :, tr] - Ytr) ** 2).mean(dim=(1, 2))
            check_finite_loss(float(loss.sum()), k, knob=f"eta0 = {eta0:g}", hint=_HINT)
            rec["steps"].append(k)
            rec["tr"].append((pred[:, tr] == labels[tr]).double().mean(dim=1).numpy())
            rec["te"].append((pred[:, te] == labels[te]).double().mean(dim=1).numpy())
            rec["loss"].append(loss.double().numpy())
            rec["norm"].append(
                torch.sqrt((W1**2).sum(dim=(1, 2)) + (W2**2).sum(dim=(1, 2)))
                .double()
                .numpy()
            )
        if k == steps:
            break
        h = W1 @ Xtr_t  # W1 x = W1[:, a] + W1[:, b], (A, N, P)
        h2 = h * h
        d = (c * (W2 @ h2) - g0tr - Ytr) * scale  # dL/dout, (A, p, P)
        gW2 = c * (d @ h2.transpose(1, 2))
        dh = (2.0 * c) * h * (W2.transpose(1, 2) @ d)
        W1 -= lr * (dh @ Xtr)  # the one-hot product adds dh into columns a and p + b
        W2 -= lr * gW2
    return ModularResult(
        steps=np.array(rec["steps"]),
        train_acc=np.array(rec["tr"]).T,
        test_acc=np.array(rec["te"]).T,
        train_loss=np.array(rec["loss"]).T,
        weight_norm=np.array(rec["norm"]).T,
        alphas=al,
        p=p,
        centred=centred,
    )


def _autograd_run(
    torch, weights, tensors, alpha, width, steps, eta0, record_every, centred
):
    """One network by torch autograd; returns (steps, train, test, loss, norm)."""
    X, Y, lab, tr, te = tensors
    p = Y.shape[1]
    W1 = torch.tensor(weights[0], requires_grad=True)
    W2 = torch.tensor(weights[1], requires_grad=True)

    def model(x):
        return alpha / width * ((x @ W1.T) ** 2) @ W2.T

    with torch.no_grad():
        g0 = model(X) if centred else torch.zeros(p * p, p)
    opt = torch.optim.SGD([W1, W2], lr=eta0 / alpha**2)
    curves = ([], [], [], [], [])
    for k in range(steps + 1):
        if k % record_every == 0 or k == steps:
            with torch.no_grad():
                out = model(X) - g0
                pred = out.argmax(dim=1)
                loss = float(((out[tr] - Y[tr]) ** 2).mean())
                norm = float(torch.sqrt((W1**2).sum() + (W2**2).sum()))
            check_finite_loss(loss, k, knob=f"eta0 = {eta0:g}", hint=_HINT)
            for curve, value in zip(
                curves,
                (
                    k,
                    float((pred[tr] == lab[tr]).float().mean()),
                    float((pred[te] == lab[te]).float().mean()),
                    loss,
                    norm,
                ),
                strict=True,
            ):
                curve.append(value)
        if k == steps:
            break
        opt.zero_grad()
        ((model(X[tr]) - g0[tr] - Y[tr]) ** 2).mean().backward()
        opt.step()
    return curves


def train_modular_addition_autograd(
    p: int = 23,
    *,
    alphas=(0.5, 1.0, 2.0),
    width: int = 100,
    train_fraction: float = 0.9,
    steps: int = 3000,
    eta0: float = 100.0,
    record_every: int = 50,
    centred: bool = True,
    seed=0,
) -> ModularResult:
    """The straightforward :func:`train_modular_addition`: autograd, one net at a time.

    Same arguments, same initial weights and split, same maths (float32); kept as
    the reference the fast path is tested and benchmarked against.
    """
    import torch

    data, al, width, steps, eta0, record_every, centred = _check_training_args(
        p, alphas, width, train_fraction, steps, eta0, record_every, seed, centred
    )
    p = data.p
    W1_0, W2_0 = _init(p, width, seed)
    X = torch.zeros(p * p, 2 * p)
    X[torch.arange(p * p), torch.tensor(data.a)] = 1.0
    X[torch.arange(p * p), torch.tensor(p + data.b)] = 1.0
    Y = torch.nn.functional.one_hot(torch.tensor(data.labels), p).float()
    lab = torch.tensor(data.labels)
    tr, te = torch.tensor(data.train), torch.tensor(data.test)
    rows = {"steps": None, "tr": [], "te": [], "loss": [], "norm": []}
    for alpha in al:
        curves = _autograd_run(
            torch,
            (W1_0, W2_0),
            (X, Y, lab, tr, te),
            float(alpha),
            width,
            steps,
            eta0,
            record_every,
            centred,
        )
        rows["steps"] = curves[0]
        for key, curve in zip(("tr", "te", "loss", "norm"), curves[1:], strict=True):
            rows[key].append(curve)
    return ModularResult(
        steps=np.array(rows["steps"]),
        train_acc=np.array(rows["tr"]),
        test_acc=np.array(rows["te"]),
        train_loss=np.array(rows["loss"]),
        weight_norm=np.array(rows["norm"]),
        alphas=al,
        p=p,
        centred=centred,
    )


def steps_to_accuracy(
    result: ModularResult, level: float = 0.9, which: str = "test"
) -> np.ndarray:
    """First recorded step at which an accuracy reaches ``level`` (``inf`` if never)."""
    if not isinstance(result, ModularResult):
        raise TypeError(f"result must be a ModularResult; got {type(result).__name__}")
    level = check_float("level", level, minimum=0.0, maximum=1.0)
    which = check_choice("which", which, ("train", "test"))
    acc = result.train_acc if which == "train" else result.test_acc
    out = np.full(acc.shape[0], np.inf)
    for i, row in enumerate(acc):
        hit = np.flatnonzero(row >= level)
        if hit.size:
            out[i] = result.steps[hit[0]]
    return out
