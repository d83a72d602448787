"""Tests of bigmodel_lib.progress: the course's tqdm bar."""

from bigmodel_lib.progress import progress

# ================================ independent review (was tests/test_review_foundation.py)
# Review of the foundation (issue 2): env, checks, plots, progress, called the ways a reader
# of their documentation would call them, bad inputs included.


# --------------------------------------------------------------------------- progress

def test_progress_is_a_tqdm_auto_bar_with_the_course_defaults():
    from tqdm.auto import tqdm

    bar = progress(range(4), "epochs", leave=False)
    assert isinstance(bar, tqdm)
    assert bar.desc.startswith("epochs") and bar.total == 4 and bar.mininterval == 0.5
    assert list(bar) == [0, 1, 2, 3]
    manual = progress(total=10, desc="steps", mininterval=0.0)
    manual.update(10)
    assert manual.n == 10 and manual.mininterval == 0.0
    manual.close()
    assert list(progress(iter([]))) == []
