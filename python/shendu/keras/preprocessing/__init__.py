"""keras.preprocessing."""
