"""Reference answers of the coding exercises (private; not shipped to students)."""
