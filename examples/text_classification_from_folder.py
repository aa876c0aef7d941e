"""Text classification from a folder of .txt files, one subfolder per class: the files are read
with keras.utils.text_dataset_from_directory, a TextVectorization layer learns the vocabulary of
the training texts (adapt) and turns raw strings into word ids inside the model, then
Embedding -> GlobalAveragePooling1D -> Dense(softmax) learns which words mark which class.

The program writes its own small corpus first: short made-up notes about sports, cooking and
the weather, each mixing a few words of its topic with common filler words (so the model must
find the topic words), with punctuation and capitals that the layer's standardization removes.
Runs in seconds: ``python examples/text_classification_from_folder.py [folder]``.
"""

import os
import sys
import tempfile

import numpy as np
from shendu import keras
from shendu.keras import layers

EPOCHS = 15
SEQUENCE_LENGTH = 24
MAX_TOKENS = 200

TOPICS = {
    "cooking": "simmer onions garlic oven recipe bake flour butter sauce pan stir salt dough",
    "sports": "goal match coach league score referee striker keeper season team win pitch",
    "weather": "rain forecast cloudy sunny storm wind humid frost temperature breeze snow fog",
}
FILLER = (
    "the a and of to in it was we on for with that this at my our after before today then "
    "very so just really again later some more most all"
).split()


def write_corpus(root, per_class=80, seed=0):
    """root/<topic>/<n>.txt: notes of 8-20 words, about a third of them from the topic."""
    rng = np.random.default_rng(seed)
    for topic, words in TOPICS.items():
        words = words.split()
        os.makedirs(os.path.join(root, topic), exist_ok=True)
        for n in range(per_class):
            length = int(rng.integers(8, 21))
            own = rng.uniform(size=length) < 0.35
            note = [rng.choice(words) if o else rng.choice(FILLER) for o in own]
            note[0] = note[0].capitalize()
            text = " ".join(note) + rng.choice([".", "!", "?", "..."])
            with open(os.path.join(root, topic, f"{n}.txt"), "w", encoding="utf-8") as f:
                f.write(text + "\n")


def load_data(root=None):
    """(training, validation) Datasets of (text batch, label batch) read from root (a fresh
    temporary folder holding a new corpus when not given)."""
    if root is None:
        root = tempfile.mkdtemp(prefix="text_classes_")
    if not os.listdir(root):
        write_corpus(root)
    return keras.utils.text_dataset_from_directory(
        root, batch_size=16, validation_split=0.25, subset="both", seed=7, verbose=False
    )


def build_model(train=None):
    """The classifier, its TextVectorization adapted on the texts of ``train`` (when given)."""
    vectorize = layers.TextVectorization(
        max_tokens=MAX_TOKENS, output_sequence_length=SEQUENCE_LENGTH
    )
    if train is not None:
        vectorize.adapt(train.map(lambda text, label: text))
    model = keras.Sequential(
        [
            keras.Input(shape=(), dtype="string"),
            vectorize,
            layers.Embedding(MAX_TOKENS, 16),
            layers.GlobalAveragePooling1D(),
            layers.Dense(len(TOPICS), activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def fit(model, data, epochs=EPOCHS, **kwargs):
    train, validation = data
    return model.fit(train, validation_data=validation, epochs=epochs, **kwargs)


def test_accuracy(model, data, **kwargs):
    _, validation = data
    loss, accuracy = model.evaluate(validation, **kwargs)
    return accuracy


def main():
    keras.utils.set_random_seed(0)
    data = load_data(sys.argv[1] if len(sys.argv) > 1 else None)
    model = build_model(data[0])
    print("vocabulary:", model.layers[0].get_vocabulary()[:12], "...")
    fit(model, data, verbose=2)
    print(f"validation accuracy {test_accuracy(model, data, verbose=0):.4f}")
    notes = ["Storm and wind again today!", "We stir the sauce, then bake."]
    for note, p in zip(notes, model.predict(np.array(notes), verbose=0)):
        print(f"{note!r}: {sorted(TOPICS)[int(np.argmax(p))]}")


if __name__ == "__main__":
    main()
