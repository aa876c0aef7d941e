"""keras.preprocessing.sequence.pad_sequences."""
