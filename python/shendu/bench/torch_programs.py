"""PyTorch ports of the example programs the bench trains: the same layers, Keras's initializers,
Adam with Keras's epsilon, the batch size, per-epoch shuffling and per-epoch validation of each
example's fit call, on the arrays its load_data() made."""

from __future__ import annotations

import time


def xor_model(torch):
    nn = torch.nn
    return keras_init(torch, nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 1)))


def keras_init(torch, model):
    """Keras's default initializers on a PyTorch model: glorot_uniform kernels, zero biases,
    orthogonal recurrent kernels with unit forget bias, embeddings uniform +-0.05."""
    nn = torch.nn
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.uniform_(m.weight, -0.05, 0.05)
        elif isinstance(m, nn.LSTM):
            u = m.hidden_size
            nn.init.xavier_uniform_(m.weight_ih_l0)
            nn.init.orthogonal_(m.weight_hh_l0)
            with torch.no_grad():
                m.bias_ih_l0.zero_()
                m.bias_hh_l0.zero_()
                m.bias_ih_l0[u : 2 * u] = 1.0  # PyTorch's gate order is i, f, g, o
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


def run(torch, name, data, epochs, device="cpu"):
    """Trains the port of examples/<name>.py on data (x_train, y_train, x_test, y_test: the
    example's load_data()); returns fit seconds and test accuracy. The model ends in logits with
    the loss taking them (the idiomatic and stable PyTorch form; argmax and accuracy are the same
    as after softmax/sigmoid). Batches are indexed tensors, which is faster than a DataLoader."""
    import numpy as np

    F = torch.nn.functional
    torch.manual_seed(0)
    f32 = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    i64 = lambda a: torch.from_numpy(np.asarray(a, dtype=np.int64))
    x, y, xt, yt = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    batch, val = 32, None
    if name == "mlp_xor_like":
        model = xor_model(torch)
        x, y, xt, yt = f32(x), f32(y), f32(xt), f32(yt)
        loss_fn = F.binary_cross_entropy_with_logits
        correct = lambda out, y: ((out > 0).float() == y).sum().item()
    else:
        loss_fn = F.cross_entropy
        correct = lambda out, y: (out.argmax(1) == y).sum().item()
        y, yt = i64(y), i64(yt)
        if name == "lstm_text":
            model = _text_model(torch)
            x, xt = i64(x), i64(xt)
            val = (xt, yt)
        elif name == "mnist_cnn":
            model = _cnn_model(torch)
            x, xt = f32(np.moveaxis(x, -1, 1)), f32(np.moveaxis(xt, -1, 1))  # NCHW, PyTorch's own
        else:
            model = _mlp_model(torch, dropout=name == "mnist_mlp_dropout")
            x, xt = f32(x.reshape(len(x), -1)), f32(xt.reshape(len(xt), -1))
            if name == "mnist_mlp_dropout":
                batch, val = 64, (xt, yt)
            else:  # Keras's validation_split=0.1: the last 10 %, unshuffled
                split = int(len(x) * 0.9)
                val, x, y = (x[split:], y[split:]), x[:split], y[:split]
        model = keras_init(torch, model)
    if device != "cpu":  # the GPU bench: model and data on the device, batches indexed there
        model = model.to(device)
        x, y, xt, yt = (t.to(device) for t in (x, y, xt, yt))
        val = None if val is None else tuple(t.to(device) for t in val)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), device=x.device)
        hits = loss_sum = 0.0
        for start in range(0, len(x), batch):
            idx = order[start : start + batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            # Keras keeps running loss and accuracy during fit; so does the port.
            loss_sum += loss.item() * len(idx)
            hits += correct(out.detach(), yb)
        if val is not None:
            model.eval()
            with torch.no_grad():
                for start in range(0, len(val[0]), batch):
                    out = model(val[0][start : start + batch])
                    loss_fn(out, val[1][start : start + batch]).item()
    fit_s = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        hits = sum(
            correct(model(xt[s : s + batch]), yt[s : s + batch]) for s in range(0, len(xt), batch)
        )
    return {"fit_s": fit_s, "accuracy": hits / (len(xt) * (yt.shape[1] if yt.ndim > 1 else 1))}
