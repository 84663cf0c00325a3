"""Benchmarks of the course against its peers, measured in the same run (``python -m bench``).

Rows (goals from the issue):

1. ``loader``    one Fashion-MNIST epoch: dlcourse's in-memory loader vs d2l's DataLoader
                 [>= 15x faster], and the share of the memory-bandwidth bound;
2. ``training``  each chapter's headline training run: course code vs d2l's loader + the
                 chapter-3 loop of the book (``reference``) [>= 10x faster, accuracy within 1 pt];
3. ``notebooks`` all solution notebooks executed top to bottom [<= 60 s each, <= 3 min in all];
4. ``grading``   autograding rows (``bench/grading.py``, optional);
5. GPU           rows 1-3 again with the GPU visible (a child process), or a row saying none was.

Results: ``bench/results/performance.md`` (the table) and ``results.json``.
``python -m bench.profile NN`` profiles one chapter's notebook (cProfile inside the kernel).
"""
