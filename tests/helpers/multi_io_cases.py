"""Models with several inputs and outputs, and model surgery, built the same way in TF-Keras
(scripts/make_multiio_fixtures.py) and in shendu (tests/keras/test_multi_io.py): each builder
takes the ``keras`` module. Weights travel by layer name, so the two need not list them in the
same order."""

import os

import numpy as np

MULTIIO_FIXTURES = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "data", "keras_fixtures", "multiio"
)
VOCAB, TITLE_LEN, TAGS, DEPARTMENTS = 40, 8, 6, 4


def ticket_data(n=40, seed=0):
    """Synthetic tickets: a title of token ids and multi-hot tags in; a priority in [0, 1] and
    one of DEPARTMENTS out, both related to the inputs so training has something to learn."""
    rng = np.random.default_rng(seed)
    title = rng.integers(1, VOCAB, (n, TITLE_LEN)).astype(np.int32)
    tags = (rng.random((n, TAGS)) < 0.3).astype(np.float32)
    priority = ((title % 7).mean(axis=1, keepdims=True) / 6 + 0.1 * tags[:, :1]).astype(np.float32)
    department = ((title[:, 0] + 3 * tags[:, 1].astype(np.int32)) % DEPARTMENTS).astype(np.int32)
    return {"title": title, "tags": tags}, {"priority": priority, "department": department}


def ticket_model(keras):
    """Two inputs (title tokens, tags), two heads: a regression and a classification."""
    title = keras.Input((TITLE_LEN,), dtype="int32", name="title")
    tags = keras.Input((TAGS,), name="tags")
    t = keras.layers.Embedding(VOCAB, 8, name="embed")(title)
    t = keras.layers.GlobalAveragePooling1D(name="pool")(t)
    g = keras.layers.Dense(8, activation="relu", name="tag_dense")(tags)
    h = keras.layers.Concatenate(name="merge")([t, g])
    h = keras.layers.Dense(16, activation="relu", name="hidden")(h)
    priority = keras.layers.Dense(1, activation="sigmoid", name="priority")(h)
    department = keras.layers.Dense(DEPARTMENTS, activation="softmax", name="department")(h)
    return keras.Model(inputs=[title, tags], outputs=[priority, department], name="tickets")


def conv_base(keras):
    """A small CNN with BatchNormalization, for feature extraction and fine-tuning."""
    inputs = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(6, 3, name="conv2")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Activation("relu", name="act")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(5, activation="softmax", name="logits")(x)
    return keras.Model(inputs, outputs, name="base")


def fine_tune_model(keras, base):
    """A new head on the frozen base, as the transfer-learning guides do."""
    base.trainable = False
    inputs = keras.Input((8, 8, 3), name="new_image")
    features = keras.Model(base.input, base.get_layer("gap").output, name="features")
    x = features(inputs, training=False)
    x = keras.layers.Dense(8, activation="relu", name="head_hidden")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name="fine_tuned")


def layer_weights(model):
    """{'<layer>/<i>': array} of every layer's weights, nested models walked."""
    out = {}
    for layer in model.layers:
        if hasattr(layer, "layers"):
            out.update(layer_weights(layer))
        else:
            for i, w in enumerate(layer.get_weights()):
                out[f"{layer.name}/{i}"] = w
    return out


def set_layer_weights(model, weights):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            set_layer_weights(layer, weights)
        elif layer.get_weights():
            layer.set_weights([weights[f"{layer.name}/{i}"] for i in range(len(layer.weights))])


def seeded_weights(model, seed):
    """Synthetic weights by layer name: small normals, BatchNormalization's variance positive."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, w in sorted(layer_weights(model).items()):
        value = rng.normal(0, 0.4, w.shape).astype(np.float32)
        if key.startswith("bn/") and key.endswith(("/0", "/3")):  # gamma, moving variance
            value = np.abs(value) + 0.5
        out[key] = value
    return out
