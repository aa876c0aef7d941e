"""Embedding training with repeated ids in a batch, held to TF-Keras (a frozen fixture made by
scripts/make_embedding_update_fixture.py): Adam's and RMSprop's second moments take each
lookup's squared gradient, as TensorFlow's IndexedSlices gradients do; SGD sees the sum."""

import os

import numpy as np
import pytest
from shendu import keras, ops, reference
from shendu.keras.row_gradient import RowGradient

FIXTURE = os.path.join(
    os.path.dirname(__file__),
    "..",
    "data",
    "keras_fixtures",
    "updates",
    "embedding_repeated_ids.npz",
)
OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(0.1),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.1),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.1, momentum=0.9),
}


def _model(d):
    vocab, dim = d["embeddings"].shape
    model = keras.Sequential(
        [
            keras.layers.Embedding(vocab, dim, input_shape=(d["ids"].shape[-1],)),
            keras.layers.Flatten(),
            keras.layers.Dense(1, use_bias=False),
        ]
    )
    model.build((None, d["ids"].shape[-1]))
    model.set_weights([d["embeddings"], d["kernel"]])
    return model


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_repeated_ids_train_as_in_tf_keras(name):
    d = np.load(FIXTURE)
    model = _model(d)
    model.compile(optimizer=OPTIMIZERS[name](), loss="mse")
    for step, (x, y) in enumerate(zip(d["ids"], d["targets"])):
        model.train_on_batch(x, y)
        embeddings, kernel = model.get_weights()
        np.testing.assert_allclose(
            embeddings, d[f"{name}_embeddings_{step}"], rtol=1e-4, atol=1e-5, err_msg=f"step {step}"
        )
        np.testing.assert_allclose(
            kernel, d[f"{name}_kernel_{step}"], rtol=1e-4, atol=1e-5, err_msg=f"step {step}"
        )


def test_fixture_tells_per_lookup_squares_from_squared_sums():
    # The fixture can fail a dense implementation: Adam on the summed gradient ends elsewhere.
    d = np.load(FIXTURE)
    table = d["embeddings"].astype(np.float64)
    kernel = d["kernel"].astype(np.float64)
    m, v = np.zeros_like(table), np.zeros_like(table)
    mk, vk = np.zeros_like(kernel), np.zeros_like(kernel)
    for step, (x, y) in enumerate(zip(d["ids"], d["targets"]), 1):
        h = table[x[0]].reshape(1, -1)
        dout = 2 * (h @ kernel - y)
        gh = (dout @ kernel.T).reshape(len(x[0]), -1)
        gk = h.T @ dout
        g = np.zeros_like(table)
        np.add.at(g, x[0], gh)
        reference.adam_update(table, g, m, v, step, 0.1)
        reference.adam_update(kernel, gk, mk, vk, step, 0.1)
    assert np.abs(table - d["adam_embeddings_2"]).max() > 1e-2


@pytest.mark.parametrize("module", [ops, reference], ids=["ops", "reference"])
def test_adam_and_rmsprop_take_a_given_squared_gradient(module, rng):
    grad = rng.standard_normal(7).astype(np.float32)
    grad_sq = grad * grad + rng.uniform(0, 1, 7).astype(np.float32)
    p, m, v = np.ones(7, np.float32), np.zeros(7, np.float32), np.zeros(7, np.float32)
    module.adam_update(p, grad, m, v, 1, 0.1, 0.9, 0.999, 1e-7, grad_sq)
    np.testing.assert_allclose(v, 0.001 * grad_sq, rtol=1e-6)
    np.testing.assert_allclose(m, 0.1 * grad, rtol=1e-6)
    alpha = 0.1 * np.sqrt(1 - 0.999) / (1 - 0.9)
    np.testing.assert_allclose(p, 1 - alpha * m / (np.sqrt(v) + 1e-7), rtol=1e-6)
    p, a = np.ones(7, np.float32), np.zeros(7, np.float32)
    module.rmsprop_update(p, grad, a, 0.1, 0.9, 1e-7, grad_sq)
    np.testing.assert_allclose(a, 0.1 * grad_sq, rtol=1e-6)
    np.testing.assert_allclose(p, 1 - 0.1 * grad / np.sqrt(a + 1e-7), rtol=1e-5)


def test_grad_sq_is_checked():
    p, m, v = (np.zeros(3, np.float32) for _ in range(3))
    with pytest.raises(ValueError, match="grad_sq"):
        ops.adam_update(p, np.ones(3), m, v, 1, grad_sq=np.ones(4))
    with pytest.raises(ValueError, match="grad_sq"):
        ops.rmsprop_update(p, np.ones(3), m, grad_sq=p)


def test_row_gradient_sums_as_a_dense_gradient(rng):
    rows = rng.standard_normal((2, 3, 4)).astype(np.float32)
    ids = np.array([[0, 2, 0], [2, 2, 1]])
    g = RowGradient(rows, ids, 5)
    want = np.zeros((5, 4), np.float32)
    np.add.at(want, ids.ravel(), rows.reshape(-1, 4))
    np.testing.assert_allclose(np.asarray(g), want, rtol=1e-6)
    want_sq = np.zeros((5, 4), np.float32)
    np.add.at(want_sq, ids.ravel(), rows.reshape(-1, 4) ** 2)
    np.testing.assert_allclose(g.squares(), want_sq, rtol=1e-6)
    # A table used twice keeps its lookups apart; a dense term makes the sum dense.
    twice = g + g
    assert isinstance(twice, RowGradient)
    np.testing.assert_allclose(twice.squares(), 2 * want_sq, rtol=1e-6)
    np.testing.assert_allclose(g + np.ones((5, 4)), want + 1, rtol=1e-6)
    with pytest.raises(ValueError, match="tables"):
        g + RowGradient(rows, ids, 6)
