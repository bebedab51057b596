"""Reference answers of the coding exercises: private API, installed with the package.

The self-checks run on the student's machine, so a student can read these
(instructor's guide, "What students can read"); the student edition's notebooks and
HTML do not show them.
"""
