"""Weather forecasting with an LSTM: from the last two days of hourly readings (temperature,
pressure, humidity, wind), predict the temperature 12 hours ahead, as the Keras example does
with the Jena climate record.

The record is made up: a daily temperature cycle, weather fronts (a slow random
process) that lower the pressure and raise humidity and wind while they cool the air, and
measurement noise. keras.utils.timeseries_dataset_from_array cuts the series into windows with
their targets; a Normalization layer, adapted on the training windows, scales each feature
inside the model. The test error is compared with the forecast to beat: the temperature at the
same hour the day before.
Runs in seconds, no download: ``python examples/timeseries_forecasting.py``.
"""

import numpy as np
from shendu import keras
from shendu.keras import layers

EPOCHS = 20
PAST = 48  # hours of readings in each window
AHEAD = 12  # hours from a window's last reading to the temperature it predicts
FEATURES = ("temperature", "pressure", "humidity", "wind")


def weather(hours, seed=0):
    """(hours, 4) hourly readings, columns as FEATURES."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    front = np.zeros(hours)
    for h in range(1, hours):  # slow AR(1) weather: fronts last a day or two
        front[h] = 0.97 * front[h - 1] + rng.normal(0, 0.25)
    daily = np.sin(2 * np.pi * (t - 9) / 24)
    temperature = 10 + 4 * daily - 2.5 * front + rng.normal(0, 0.5, hours)
    pressure = 1013 - 6 * front + rng.normal(0, 0.8, hours)
    humidity = 70 - 15 * daily + 8 * front + rng.normal(0, 3, hours)
    wind = 3 + 1.5 * np.abs(front) + rng.gamma(2, 0.5, hours)
    return np.stack([temperature, pressure, humidity, wind], axis=1).astype(np.float32)


def load_data(hours=6000, batch_size=64):
    """(training, test) Datasets of (windows (batch, PAST, 4), temperature AHEAD hours after
    each window's last reading); the first 80 % of the record trains, the rest tests."""
    readings = weather(hours)
    split = int(0.8 * hours)

    def windows(first, last, shuffle):
        """The windows that start at hours first..last-1, with their targets."""
        return keras.utils.timeseries_dataset_from_array(
            readings[first : last + PAST - 1],
            readings[first + PAST - 1 + AHEAD : last + PAST - 1 + AHEAD, 0],
            sequence_length=PAST,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=1,
        )

    # No training target lies in the test part.
    reach = PAST - 1 + AHEAD
    return windows(0, split - reach, True), windows(split, hours - reach, False)


def build_model(train=None):
    """The forecaster; its Normalization adapted on the windows of ``train`` when given."""
    normalize = layers.Normalization()
    if train is not None:
        normalize.adapt(train.map(lambda x, y: x))
    model = keras.Sequential(
        [
            keras.Input((PAST, len(FEATURES))),
            normalize,
            layers.LSTM(32),
            layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.005), loss="mse", metrics=["mae"])
    return model


def fit(model, data, epochs=EPOCHS, **kwargs):
    train, test = data
    return model.fit(train, validation_data=test, epochs=epochs, **kwargs)


def test_mae(model, data, **kwargs):
    """Mean absolute error of the forecasts on the test windows, in degrees."""
    _, test = data
    mse, mae = model.evaluate(test, **kwargs)
    return mae


def yesterday_mae(data):
    """The error of forecasting, for each test window, the temperature 24 hours before its
    target's hour (a reading inside the window): what the daily cycle alone predicts."""
    _, test = data
    hour = PAST - 1 + AHEAD - 24
    errors = [np.abs(np.asarray(x)[:, hour, 0] - np.asarray(y)) for x, y in test]
    return float(np.mean(np.concatenate(errors)))


def main():
    keras.utils.set_random_seed(0)
    data = load_data()
    model = build_model(data[0])
    model.summary()
    fit(model, data, verbose=2)
    print(f"same hour yesterday: mae {yesterday_mae(data):.3f}")
    print(f"test mae {test_mae(model, data, verbose=0):.3f}")


if __name__ == "__main__":
    main()
