"""Test-suite configuration: quiet progress bars, headless matplotlib, CPU threads."""
import os

# Inherited by the kernels nbval starts for the chapters.
os.environ.setdefault("LEARNING_DYNAMICS_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
