import matplotlib
import pytest
import torch

matplotlib.use("Agg")  # unit tests draw off-screen; notebooks keep the inline backend


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors gain nothing from threads (hand-offs cost more than the arithmetic), and
    on a busy machine they lose a lot. Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
