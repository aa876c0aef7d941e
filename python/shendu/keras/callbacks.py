"""Keras callbacks: Callback, CallbackList, History, ProgbarLogger, EarlyStopping, ModelCheckpoint,
LambdaCallback."""
