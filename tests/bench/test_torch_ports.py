"""The bench's PyTorch ports of the example programs (shendu.bench.torch_programs) hold the same
weights as the example's Keras model, with Keras's BatchNormalization settings and its masking."""

import numpy as np
import pytest
from shendu import keras
from shendu.bench import examples, torch_programs, workloads

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()


@pytest.fixture
def one_thread():
    """PyTorch on one thread: its OpenMP threads spin against the other tests' on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _keras_model(name):
    """The example's model, built: a subclassed model on one batch of its own data."""
    program = examples.load(name)
    model = program.build_model()
    if not model.built:
        (x, _), _ = examples.sample_data(program)
        model(x[:1])
    return model


@pytest.mark.parametrize("name", workloads.PROGRAMS)
def test_the_port_has_the_example_models_weights(name):
    model = _keras_model(name)
    port = torch_programs.model(torch, name)
    # PyTorch's LSTM has a second bias per gate (bias_hh) where Keras has one; the port zeros it.
    params = sorted(p.numel() for n, p in port.named_parameters() if "bias_hh" not in n)
    buffers = sorted(
        b.numel() for n, b in port.named_buffers() if not n.endswith("num_batches_tracked")
    )
    assert params == sorted(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert buffers == sorted(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    for n, p in port.named_parameters():
        if "bias_hh" in n:
            assert not p.detach().any(), n


@pytest.mark.parametrize("name", ["cifar_cnn_bn"])
def test_the_port_normalizes_batches_as_keras(name):
    norms = [
        la for la in _keras_model(name).layers if isinstance(la, keras.layers.BatchNormalization)
    ]
    ports = [
        m for m in torch_programs.model(torch, name).modules() if "BatchNorm" in type(m).__name__
    ]
    assert norms and len(ports) == len(norms)
    for layer, port in zip(norms, ports):
        # PyTorch's momentum weighs the new batch's statistics, Keras's the moving average.
        assert port.momentum == pytest.approx(1.0 - layer.momentum)
        assert port.eps == pytest.approx(layer.epsilon)


def test_the_imdb_port_skips_the_padding_as_keras_masks_it(one_thread):
    port = torch_programs.model(torch, "imdb_bidirectional_lstm").eval()
    rng = np.random.default_rng(0)
    ids = torch.from_numpy(rng.integers(1, 10000, (3, 80)))
    ids[0, 30:], ids[1, 55:] = 0, 0
    with torch.no_grad():
        padded = port(ids)
        alone = [port(ids[i : i + 1, : int((ids[i] != 0).sum())]) for i in range(3)]
    np.testing.assert_allclose(padded.numpy(), torch.cat(alone).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name", ["conv1d_text", "imdb_bidirectional_lstm", "cifar_cnn_bn", "custom_training_loop"]
)
def test_the_port_trains_on_the_example_data(name, one_thread):
    (x, y), (xt, yt) = examples.sample_data(examples.load(name))
    data = {"x_train": x[:40], "y_train": y[:40], "x_test": xt[:20], "y_test": yt[:20]}
    result = torch_programs.run(torch, name, data, 1)
    assert result["fit_s"] > 0 and 0.0 <= result["accuracy"] <= 1.0
