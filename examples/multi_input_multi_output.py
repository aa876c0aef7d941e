"""Support tickets routed by a model with two inputs and two outputs (functional API):

- inputs: ``title``, 12 word ids, and ``tags``, 8 multi-hot flags;
- outputs: ``priority``, a score in [0, 1] (sigmoid, mean squared error), and ``department``,
  one of 4 (softmax, sparse categorical cross-entropy).

compile takes a loss, a loss weight and metrics per output, keyed by the output layers' names;
fit and evaluate take dicts of inputs and targets keyed by name, and the logs name each output's
loss and metrics (``priority_loss``, ``department_accuracy``, ...). The total ``loss`` is
priority_loss + 0.2 * department_loss.

The data is synthetic and offline (load_data): a ticket's department follows from two
department words in its title (one ticket in ten misfiled), its priority from urgent words and
the "outage" tag.
"""

import numpy as np
from shendu import keras
from shendu.keras import layers

VOCAB, TITLE_LEN, TAGS, DEPARTMENTS = 500, 12, 8, 4
EPOCHS = 8


def load_data(n_train=2000, n_test=500, seed=0):
    """((x_train, y_train), (x_test, y_test)) with x = {"title", "tags"} and
    y = {"priority", "department"}."""
    rng = np.random.default_rng(seed)
    words = rng.permutation(np.arange(1, VOCAB))
    department_words = words[: 10 * DEPARTMENTS].reshape(DEPARTMENTS, 10)
    urgent = words[10 * DEPARTMENTS : 10 * DEPARTMENTS + 10]
    filler = words[10 * DEPARTMENTS + 10 :]

    def make(n):
        department = rng.integers(0, DEPARTMENTS, n).astype(np.int32)
        title = rng.choice(filler, (n, TITLE_LEN)).astype(np.int32)
        for i in range(n):
            spots = rng.choice(TITLE_LEN, 2, replace=False)
            title[i, spots] = rng.choice(department_words[department[i]], 2)
        misfiled = rng.random(n) < 0.1  # some tickets went to another department anyway
        department[misfiled] = rng.integers(0, DEPARTMENTS, misfiled.sum())
        urgency = rng.integers(0, 4, n)
        for i in range(n):
            title[i, TITLE_LEN - urgency[i] :] = rng.choice(urgent, urgency[i])
        tags = (rng.random((n, TAGS)) < 0.2).astype(np.float32)
        priority = np.clip(0.2 * urgency + 0.3 * tags[:, 0] + 0.05 * rng.random(n), 0, 1)
        x = {"title": title, "tags": tags}
        y = {"priority": priority[:, None].astype(np.float32), "department": department}
        return x, y

    return make(n_train), make(n_test)


def build_model():
    title = keras.Input(shape=(TITLE_LEN,), dtype="int32", name="title")
    tags = keras.Input(shape=(TAGS,), name="tags")
    words = layers.Embedding(VOCAB, 32)(title)
    words = layers.GlobalAveragePooling1D()(words)
    features = layers.Concatenate()([words, layers.Dense(16, activation="relu")(tags)])
    features = layers.Dense(64, activation="relu")(features)
    priority = layers.Dense(1, activation="sigmoid", name="priority")(features)
    department = layers.Dense(DEPARTMENTS, activation="softmax", name="department")(features)
    model = keras.Model(inputs=[title, tags], outputs=[priority, department])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.005),
        loss={"priority": "mse", "department": "sparse_categorical_crossentropy"},
        loss_weights={"priority": 1.0, "department": 0.2},
        metrics={"priority": ["mae"], "department": ["accuracy"]},
    )
    return model


def fit(model, data, epochs=EPOCHS, **kwargs):
    (x_train, y_train), test = data
    return model.fit(x_train, y_train, epochs=epochs, batch_size=32, validation_data=test, **kwargs)


def test_accuracy(model, data, **kwargs):
    """The department accuracy on the test tickets."""
    _, (x_test, y_test) = data
    return model.evaluate(x_test, y_test, return_dict=True, **kwargs)["department_accuracy"]


def main():
    keras.utils.set_random_seed(0)
    data = load_data()
    model = build_model()
    fit(model, data, verbose=2)
    _, (x_test, y_test) = data
    logs = model.evaluate(x_test, y_test, return_dict=True, verbose=0)
    print(f"test department accuracy {logs['department_accuracy']:.4f}")
    spread = y_test["priority"].std()
    print(f"test priority mae {logs['priority_mae']:.4f} (spread of priority: {spread:.4f})")
    priority, department = model.predict(x_test, verbose=0)
    print(f"first ticket: priority {priority[0, 0]:.2f}, department {department[0].argmax()}")


if __name__ == "__main__":
    main()
