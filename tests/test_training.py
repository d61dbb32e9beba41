"""bpkit.training: mini-batches, accuracy, and an end-to-end MLP on scikit-learn's digits."""
import numpy as np

from bpkit.functional import cross_entropy, mse_loss
from bpkit.nn import Linear, ReLU, Sequential
from bpkit.optim import SGD, Adam
from bpkit.training import accuracy, fit, iterate_minibatches


def test_iterate_minibatches_covers_every_row_once():
    X, y = np.arange(10)[:, None] * 1.0, np.arange(10)
    batches = list(iterate_minibatches(X, y, 4, rng=0))
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen) == list(range(10)) and list(seen) != list(range(10))     # shuffled
    assert all(np.array_equal(xb[:, 0], yb) for xb, yb in batches)               # rows stay paired
    in_order = np.concatenate([yb for _, yb in iterate_minibatches(X, y, 3)])
    assert list(in_order) == list(range(10))


def digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)                  # pixels 0..16 -> 0..1, float32 like the model
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def mlp(seed):
    rng = np.random.default_rng(seed)
    return Sequential(Linear(64, 64, rng=rng), ReLU(), Linear(64, 10, rng=rng))


def test_mlp_on_digits_reaches_95_percent():
    X_train, X_test, y_train, y_test = digits()
    model = mlp(0)
    history = fit(model, cross_entropy, Adam(model.parameters(), lr=1e-2), X_train, y_train,
                  epochs=10, batch_size=32, seed=0, X_val=X_test, y_val=y_test, progress=False)
    assert len(history.train_loss) == len(history.val_loss) == len(history.val_accuracy) == 10
    assert history.train_loss[-1] < history.train_loss[0] / 5
    test_acc = accuracy(model, X_test, y_test)
    assert test_acc >= 0.95, test_acc
    assert test_acc == history.val_accuracy[-1]


def test_fit_is_deterministic_given_the_seed():
    X_train, _, y_train, _ = digits()
    X_train, y_train = X_train[:200], y_train[:200]
    losses = []
    for _ in range(2):
        model = mlp(1)
        losses.append(fit(model, cross_entropy, SGD(model.parameters(), lr=0.1, momentum=0.9),
                          X_train, y_train, epochs=3, batch_size=16, seed=3, progress=False).train_loss)
    assert losses[0] == losses[1]


def test_fit_regression_with_mse_and_progress_bar(capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2)).astype(np.float32)
    y = (X @ np.array([[2.0], [-1.0]]) + 0.5).astype(np.float32)        # (N, 1), like the model's output
    model = Linear(2, 1, rng=0)
    history = fit(model, mse_loss, SGD(model.parameters(), lr=0.1), X, y, epochs=30, batch_size=16,
                  X_val=X, y_val=y)
    assert history.train_loss[-1] < 1e-3 and history.val_accuracy == []
    captured = capsys.readouterr()
    assert "loss=" in captured.err                                        # tqdm writes its bar to stderr
    # and one summary line, so a stored notebook shows the finished run, not the bar's first "0/30"
    summary = captured.out.strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith("fit: 30/30 epochs in ")
    assert f"; loss {history.train_loss[-1]:.4f}, val_loss {history.val_loss[-1]:.4f}" in summary[0]


def test_fit_prints_nothing_without_progress(capsys):
    X = np.zeros((4, 2), dtype=np.float32)
    y = np.zeros((4, 1), dtype=np.float32)
    model = Linear(2, 1, rng=0)
    fit(model, mse_loss, SGD(model.parameters(), lr=0.1), X, y, epochs=2, batch_size=2, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
