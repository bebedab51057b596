"""Refuse what cannot finish (issue #30): every input below fails fast and clearly.

Each input once exhausted memory, ran for days, or returned NaN, a cast or an
obscure error.  All of them run in one fresh subprocess whose address space is
capped at what it uses after the imports plus 1 GiB, with warnings turned into
errors: an input that tried to allocate its gigabytes would end in ``MemoryError``
and one that returned NaN with a warning would end in the warning, not in the
expected error.  Each must raise the expected ``ValueError``/``TypeError``/
``DivergenceError``, naming its argument, within a second.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

resource = pytest.importorskip("resource")

SRC = Path(__file__).resolve().parents[1] / "src"

#: name -> (code raising the error, expected exception type, text the message holds)
CASES = {
    "linearisation.gd_residual_closed_form above the stability limit": (
        "lin.gd_residual_closed_form(np.diag(np.arange(1.0, 21.0)) * 20, "
        "np.ones(20), eta0=10.0, steps=[0, 10, 1000])",
        "DivergenceError", "eta0 = 10 is above the stability limit"),
    "deep_linear.rsm_correlation of a constant matrix": (
        "dl.rsm_correlation(np.ones((4, 4)), np.eye(4))",
        "ValueError", "rsm_a has the same value"),
    "complex kernel cast to real": (
        "lin.gd_residual_closed_form(np.eye(3) + 0j, np.ones(3), eta0=0.1, "
        "steps=[1])",
        "TypeError", "kernel must be a real array"),
    "complex targets cast to real": (
        "lin.gd_residual_closed_form(np.eye(3), np.ones(3) * (1 + 1j), eta0=0.1, "
        "steps=[1])",
        "TypeError", "y must be a real array"),
    "deep_linear.stability_limit of all-zero targets": (
        "dl.stability_limit(ZERO)", "ValueError", "all-zero targets"),
    "deep_linear.train on all-zero targets": (
        "dl.train(ZERO, steps=10)", "ValueError", "all-zero targets"),
    "deep_linear.train(init_scale=-1)": (
        "dl.train(dl.toy_data(), steps=10, init_scale=-1)",
        "ValueError", "init_scale must be > 0"),
    "lazy_rich.lazy_limit_losses(times='abc')": (
        "lr.lazy_limit_losses(lr.make_teacher_data(10, 20), lr.make_network(10, 20), "
        "'abc')", "TypeError", "times must be real"),
    "lazy_rich.crossing_time(loss='abc')": (
        "lr.crossing_time([1, 2, 3], 'abc', 0.1)", "TypeError", "loss must be"),
    "lazy_rich.crossing_time(level='abc')": (
        "lr.crossing_time([1, 2, 3], [3, 2, 1], 'abc')", "TypeError", "level must be"),
    "lazy_rich.train_modular_addition(alphas=[1e-300])": (
        "lr.train_modular_addition(alphas=[1e-300], steps=5)",
        "ValueError", "alphas must hold finite values > 0 (>= 1e-06"),
    "lazy_rich.initial_kernel on 60 000 inputs": (
        "lr.initial_kernel(np.ones((60000, 3)), np.ones((60000, 3)), 0.1)",
        "ValueError", "X1=(60000, 3) would need about"),
    "lazy_rich.modular_addition_data(p=10**5)": (
        "lr.modular_addition_data(p=10**5)", "ValueError", "p=100000 would need about"),
    "lazy_rich.train_modular_addition(width=10**9)": (
        "lr.train_modular_addition(width=10**9)",
        "ValueError", "width=1000000000 would need about"),
    "lazy_rich.train_modular_addition(steps=10**12)": (
        "lr.train_modular_addition(steps=10**12)", "ValueError", "steps must be"),
    "lazy_rich.train_modular_addition(steps=10**6, width=1000)": (
        "lr.train_modular_addition(steps=10**6, width=1000)",
        "ValueError", "floating-point operations"),
    "deep_linear.category_data([(10**5, 10**5)])": (
        "dl.category_data([(10**5, 10**5)])",
        "ValueError", "categories=[(100000, 100000)] would need about"),
    "xor_clusters.XORConfig at its documented maxima (sample_gram)": (
        "xc.sample_gram(xc.XORConfig(n=5000, m=5000, n_test=100000), 0)",
        "ValueError", "n_test=100000 would need about"),
    "xor_clusters.run_xor at n = m = 5000, 1e5 steps": (
        "xc.run_xor(xc.XORConfig(n=5000, m=5000, n_test=1000), 0, [0, 100000])",
        "ValueError", "steps=100000 would need about"),
    "xor_clusters.run_xor direct engine, 1e5 steps at p = 20000": (
        "xc.run_xor(xc.XORConfig(n=1000, m=1000, n_test=100), 0, [100000], "
        "engine='direct')", "ValueError", "steps=100000 would need about"),
}

_RUNNER = textwrap.dedent("""
    import json, resource, signal, sys, time, warnings
    import numpy as np
    import torch  # noqa: F401  (imported before the clock starts)
    from learning_dynamics import deep_linear as dl, lazy_rich as lr
    from learning_dynamics import linearisation as lin, xor_clusters as xc

    ZERO = dl.Dataset(np.eye(3), np.zeros((2, 3)), ("a", "b", "c"), ("f", "g"))
    with open("/proc/self/status") as fh:
        used = next(int(x.split()[1]) * 1024 for x in fh if x.startswith("VmSize"))
    limit = used + 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warnings.simplefilter("error")

    def too_slow(signum, frame):
        raise TimeoutError("still running after 10 s")

    signal.signal(signal.SIGALRM, too_slow)
    out = {}
    for name, code in json.loads(sys.argv[1]).items():
        start = time.process_time()
        signal.alarm(10)
        try:
            eval(code)
            result = ["no error", ""]
        except Exception as exc:
            result = [type(exc).__name__, str(exc)]
        signal.alarm(0)
        out[name] = result + [time.process_time() - start]
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def outcomes():
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux /proc to cap the address space")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SRC), os.environ.get("PYTHONPATH", "")])}
    codes = {name: case[0] for name, case in CASES.items()}
    done = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps(codes)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", list(CASES))
def test_input_that_cannot_finish_is_refused_at_once_naming_its_argument(
        outcomes, name):
    _, expected_type, expected_text = CASES[name]
    got_type, message, cpu_seconds = outcomes[name]
    assert got_type == expected_type, f"{name}: {got_type}: {message}"
    assert expected_text in message, message
    assert cpu_seconds < 1.0, f"{name} took {cpu_seconds:.2f} s of CPU"


def test_memory_and_work_errors_state_the_estimate_and_the_limit(outcomes):
    for name in ("lazy_rich.initial_kernel on 60 000 inputs",
                 "xor_clusters.run_xor at n = m = 5000, 1e5 steps"):
        message = outcomes[name][1]
        assert "would need about" in message and "the limit is" in message, message
