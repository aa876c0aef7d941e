"""keras.utils: to_categorical, pad_sequences, set_random_seed."""
