"""PyTorch ports of the example programs the bench trains: the same layers, Keras's initializers,
Adam with Keras's epsilon, the batch size, per-epoch shuffling and per-epoch validation of each
example's fit call, on the arrays its load_data() made."""

from __future__ import annotations

import time


def xor_model(torch):
    return model(torch, "mlp_xor_like")


def model(torch, name):
    """The port of examples/<name>.py's model, with Keras's initializers."""
    return keras_init(torch, _MODELS[name](torch))


def keras_init(torch, model):
    """Keras's default initializers on a PyTorch model: glorot_uniform kernels, zero biases,
    orthogonal recurrent kernels with unit forget bias (in both directions of a bidirectional
    LSTM), embeddings uniform +-0.05; BatchNorm's unit scale and zero shift are PyTorch's too."""
    nn = torch.nn
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.uniform_(m.weight, -0.05, 0.05)
        elif isinstance(m, nn.LSTM):
            u = m.hidden_size
            for name, w in m.named_parameters():
                if name.startswith("weight_ih"):
                    nn.init.xavier_uniform_(w)
                elif name.startswith("weight_hh"):
                    nn.init.orthogonal_(w)
                else:
                    with torch.no_grad():
                        w.zero_()
                        if name.startswith("bias_ih"):
                            w[u : 2 * u] = 1.0  # PyTorch's gate order is i, f, g, o
    return model


def _text_model(torch):
    nn = torch.nn

    class TextModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(10000, 64)
            self.lstm1 = nn.LSTM(64, 64, batch_first=True)
            self.lstm2 = nn.LSTM(64, 32, batch_first=True)
            self.dense = nn.Linear(32, 10)

        def forward(self, ids):
            hs, _ = self.lstm1(self.embedding(ids))
            _, (h, _) = self.lstm2(hs)
            return self.dense(h[0])

    return TextModel()


def _cnn_model(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(576, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def _mlp_model(torch, dropout):
    nn = torch.nn
    hidden = [nn.Linear(784, 128), nn.ReLU()] + ([nn.Dropout(0.5)] if dropout else [])
    return nn.Sequential(*hidden, nn.Linear(128, 10))


def _conv1d_text_model(torch):
    nn = torch.nn

    class Conv1DText(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(10000, 64)
            self.conv = nn.Conv1d(64, 64, 5)  # "valid", as Keras's default
            self.dense = nn.Linear(64, 10)

        def forward(self, ids):
            h = torch.relu(self.conv(self.embedding(ids).transpose(1, 2)))  # (N, C, T)
            return self.dense(h.amax(dim=2))  # GlobalMaxPooling1D

    return Conv1DText()


def _imdb_model(torch):
    """mask_zero=True as PyTorch says it: each review packed to its length (the ids before the
    zero padding), so both directions of both LSTMs skip the padding as Keras's masked steps do,
    and the second layer's outputs are the forward state at the last word and the backward
    state at the first."""
    nn = torch.nn
    pack = nn.utils.rnn.pack_padded_sequence

    class IMDBModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(10000, 64)
            self.lstm1 = nn.LSTM(64, 32, batch_first=True, bidirectional=True)
            self.lstm2 = nn.LSTM(64, 32, batch_first=True, bidirectional=True)
            self.dense = nn.Linear(64, 1)

        def forward(self, ids):
            lengths = (ids != 0).sum(1).cpu()
            packed = pack(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
            seq, _ = self.lstm1(packed)
            _, (h, _) = self.lstm2(seq)  # h: (direction, N, 32)
            return self.dense(torch.cat((h[0], h[1]), dim=1))[:, 0]

    return IMDBModel()


def _cifar_model(torch):
    """The example's BatchNormalization(momentum=0.9, epsilon=1e-3): PyTorch's momentum weighs the
    new batch, so 1 - 0.9. PyTorch's running variance takes the unbiased batch variance, Keras's the
    biased one (a factor n/(n-1), n the values per channel: at least 64 here)."""
    nn = torch.nn

    def conv_bn(c_in, c_out):
        return [
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.1),
            nn.ReLU(),
        ]

    return nn.Sequential(
        *conv_bn(3, 32),
        *conv_bn(32, 32),
        nn.MaxPool2d(2),
        *conv_bn(32, 64),
        nn.MaxPool2d(2),
        *conv_bn(64, 64),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1024, 64, bias=False),
        nn.BatchNorm1d(64, eps=1e-3, momentum=0.1),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def _subclassed_cnn_model(torch):
    """examples/custom_training_loop.py's MyModel: Conv2D(32, 3, relu), Flatten, Dense(128,
    relu), Dense(10) giving logits."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(26 * 26 * 32, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def _xor_model(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 1))


# The ports by their input: images (NHWC in Keras, NCHW here, PyTorch's own layout), word ids,
# flattened digits and points.
_IMAGE_MODELS = {
    "mnist_cnn": _cnn_model,
    "cifar_cnn_bn": _cifar_model,
    "custom_training_loop": _subclassed_cnn_model,
}
_TEXT_MODELS = {
    "lstm_text": _text_model,
    "conv1d_text": _conv1d_text_model,
    "imdb_bidirectional_lstm": _imdb_model,
}
_MODELS = {
    **_IMAGE_MODELS,
    **_TEXT_MODELS,
    "mnist_mlp_dropout": lambda torch: _mlp_model(torch, dropout=True),
    "mnist_mlp_flatten": lambda torch: _mlp_model(torch, dropout=False),
    "mlp_xor_like": _xor_model,
}
# Each example's fit call: its batch size where not Keras's 32, and its validation:
# validation_data=test ("test") or validation_split=0.1 ("split"); the custom loop's test pass
# after every epoch counts as validation_data.
_BATCH = {"mnist_mlp_dropout": 64, "cifar_cnn_bn": 64}
_VALIDATION = {
    "mnist_mlp_dropout": "test",
    "mnist_mlp_flatten": "split",
    "lstm_text": "test",
    "conv1d_text": "test",
    "imdb_bidirectional_lstm": "test",
    "custom_training_loop": "test",
}
# Sigmoid outputs with binary cross-entropy; the others end in softmax over classes.
_BINARY = ("mlp_xor_like", "imdb_bidirectional_lstm")


def run(torch, name, data, epochs, device="cpu"):
    """Trains the port of examples/<name>.py on data (x_train, y_train, x_test, y_test: the
    example's load_data()); returns fit seconds and test accuracy. The model ends in logits with
    the loss taking them (the idiomatic and stable PyTorch form; argmax and accuracy are the same
    as after softmax/sigmoid). Batches are indexed tensors, which is faster than a DataLoader."""
    import numpy as np

    F = torch.nn.functional
    torch.manual_seed(0)
    net = model(torch, name)
    f32 = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    i64 = lambda a: torch.from_numpy(np.asarray(a, dtype=np.int64))
    x, y, xt, yt = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    if name in _TEXT_MODELS:
        x, xt = i64(x), i64(xt)
    elif name in _IMAGE_MODELS:
        x, xt = f32(np.moveaxis(x, -1, 1)), f32(np.moveaxis(xt, -1, 1))
    else:
        x, xt = f32(x.reshape(len(x), -1)), f32(xt.reshape(len(xt), -1))
    if name in _BINARY:
        loss_fn = F.binary_cross_entropy_with_logits
        correct = lambda out, y: ((out > 0).float() == y).sum().item()
        y, yt = f32(y), f32(yt)
    else:
        loss_fn = F.cross_entropy
        correct = lambda out, y: (out.argmax(1) == y).sum().item()
        y, yt = i64(y), i64(yt)
    batch, val = _BATCH.get(name, 32), None
    if _VALIDATION.get(name) == "test":
        val = (xt, yt)
    elif _VALIDATION.get(name) == "split":  # Keras's validation_split=0.1: the last 10 %
        split = int(len(x) * 0.9)
        val, x, y = (x[split:], y[split:]), x[:split], y[:split]
    if device != "cpu":  # the GPU bench: model and data on the device, batches indexed there
        net = net.to(device)
        x, y, xt, yt = (t.to(device) for t in (x, y, xt, yt))
        val = None if val is None else tuple(t.to(device) for t in val)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)

    t0 = time.perf_counter()
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(x), device=x.device)
        hits = loss_sum = 0.0
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            out = net(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            # Keras keeps running loss and accuracy during fit; so does the port.
            loss_sum += loss.item() * len(idx)
            hits += correct(out.detach(), yb)
        if val is not None:
            net.eval()
            with torch.no_grad():
                for start in range(0, len(val[0]), batch):
                    out = net(val[0][start : start + batch])
                    loss_fn(out, val[1][start : start + batch]).item()
    fit_s = time.perf_counter() - t0
    net.eval()
    with torch.no_grad():
        hits = sum(
            correct(net(xt[s : s + batch]), yt[s : s + batch]) for s in range(0, len(xt), batch)
        )
    return {"fit_s": fit_s, "accuracy": hits / (len(xt) * (yt.shape[1] if yt.ndim > 1 else 1))}
