"""Instructor tooling on top of nbgrader: build the student notebooks, grade, report.

Run ``python -m grader --help`` for the verbs.
"""
