"""Models with several inputs and outputs (compile's per-output losses, loss weights and metrics,
fit / evaluate / predict / train_on_batch with lists and dicts), and model surgery (feature
extraction from a model's graph, fine-tuning a frozen nested model, Sequential.pop / add), held
to TF-Keras by the fixtures of scripts/make_multiio_fixtures.py."""

import os

import numpy as np
import pytest
import shendu
from shendu import keras
from shendu.bench import examples
from shendu.distribute import collectives, strategy
from shendu.keras.models import dense_stack

from tests.helpers import multi_io_cases as cases

RTOL, ATOL = 2e-4, 2e-5


def _fixture(name):
    return dict(np.load(os.path.join(cases.MULTIIO_FIXTURES, f"{name}.npz")))


def _prefixed(data, prefix):
    return {k[len(prefix) + 1 :]: v for k, v in data.items() if k.startswith(prefix + "/")}


def _close(actual, expected, what):
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def _check_logs(logs, want, what):
    assert set(logs) == set(want), what
    for k in want:
        _close(logs[k], want[k], f"{what}: {k}")


def _check_weights(model, want, what):
    got = cases.layer_weights(model)
    assert set(got) == set(want), what
    for k in want:
        _close(got[k], want[k], f"{what}: {k}")


def _tickets(initial):
    model = cases.ticket_model(keras)
    cases.set_layer_weights(model, initial)
    return model


DICT_COMPILE = {
    "loss": {"priority": "mse", "department": "sparse_categorical_crossentropy"},
    "loss_weights": {"priority": 1.0, "department": 0.2},
    "metrics": {"priority": ["mae"], "department": ["accuracy"]},
}


def _as_list(d):
    return [d["title"], d["tags"]] if "title" in d else [d["priority"], d["department"]]


def _run_tickets(want, compile_args, order, to_x, to_y, **fit_args):
    """The fixture's sequence on shendu: fit, evaluate, predict, train_on_batch."""
    x, y = cases.ticket_data()
    model = _tickets(_prefixed(want, "initial"))
    model.compile(optimizer=keras.optimizers.Adam(0.01), **compile_args)
    history = model.fit(to_x(x), to_y(y), batch_size=16, shuffle=False, verbose=0, **fit_args)
    _check_logs(history.history, _prefixed(want, "history"), "history")
    _check_weights(model, _prefixed(want, "fit"), "weights after fit")
    logs = model.evaluate(to_x(x), to_y(y), verbose=0, return_dict=True)
    _check_logs(logs, _prefixed(want, "evaluate"), "evaluate")
    _close(model.evaluate(to_x(x), to_y(y), verbose=0), want["evaluate_list"], "evaluate list")
    assert model.metrics_names == order  # evaluate's list: the losses first, then by name
    predicted = model.predict(to_x(x), verbose=0)
    assert isinstance(predicted, list) and len(predicted) == 2
    for i, out in enumerate(predicted):
        _close(out, want[f"predict/{i}"], f"predict {i}")
    batch = {k: v[:16] for k, v in x.items()}, {k: v[:16] for k, v in y.items()}
    logs = model.train_on_batch(to_x(batch[0]), to_y(batch[1]), return_dict=True)
    _check_logs(logs, _prefixed(want, "train_on_batch"), "train_on_batch")
    _check_weights(model, _prefixed(want, "weights_after_batch"), "after train_on_batch")
    return model


def test_dicts_of_losses_weights_and_metrics_train_as_tf_keras():
    want = _fixture("tickets_dict")
    assert set(_prefixed(want, "history")) == {
        "loss",
        "priority_loss",
        "department_loss",
        "priority_mae",
        "department_accuracy",
    }
    order = ["loss", "priority_loss", "department_loss", "department_accuracy", "priority_mae"]
    _run_tickets(want, DICT_COMPILE, order, dict, dict, epochs=2)


def test_lists_weighted_metrics_and_sample_weights_per_output_train_as_tf_keras():
    want = _fixture("tickets_list")
    sw = np.linspace(0.2, 2.0, 40).astype(np.float32)
    compile_args = {
        "loss": ["binary_crossentropy", "sparse_categorical_crossentropy"],
        "loss_weights": [0.5, 1.0],
        "metrics": [["mae"], ["accuracy"]],
        "weighted_metrics": {"department": ["accuracy"]},
    }
    order = ["loss", "priority_loss", "department_loss", "department_accuracy"]
    order += ["department_weighted_accuracy", "priority_mae"]
    sample_weight = [sw, sw[::-1].copy()]
    _run_tickets(
        want, compile_args, order, _as_list, _as_list, epochs=1, sample_weight=sample_weight
    )


def test_the_total_loss_is_the_weighted_sum_of_the_output_losses():
    x, y = cases.ticket_data()
    model = _tickets(cases.seeded_weights(cases.ticket_model(keras), 7))
    model.compile("sgd", **DICT_COMPILE)
    logs = model.evaluate(x, y, batch_size=40, verbose=0, return_dict=True)
    priority, department = model.predict(x, verbose=0)
    mse = np.mean((priority - y["priority"]) ** 2)
    picked = department[np.arange(len(department)), y["department"]]
    cross_entropy = -np.mean(np.log(picked))
    _close(logs["priority_loss"], mse, "priority_loss")
    _close(logs["department_loss"], cross_entropy, "department_loss")
    _close(logs["loss"], mse + 0.2 * cross_entropy, "loss")


def test_dict_sample_weights_equal_the_list_and_one_array_weighs_every_output():
    x, y = cases.ticket_data()
    sw = np.linspace(0.5, 1.5, 40).astype(np.float32)
    initial = cases.seeded_weights(cases.ticket_model(keras), 8)
    results = []
    for weights in ([sw, sw], {"priority": sw, "department": sw}, sw):
        model = _tickets(initial)
        model.compile("sgd", **DICT_COMPILE)
        results.append(model.evaluate(x, y, sample_weight=weights, verbose=0))
    _close(results[1], results[0], "dict vs list")
    _close(results[2], results[0], "one array vs list")
    unweighted = model.evaluate(x, y, verbose=0)
    assert not np.allclose(unweighted, results[0])


def test_feature_extraction_models_cut_from_a_graph_match_tf_keras():
    want = _fixture("features")
    base = cases.conv_base(keras)
    cases.set_layer_weights(base, _prefixed(want, "weights"))
    conv2 = keras.Model(inputs=base.input, outputs=base.get_layer("conv2").output)
    _close(conv2.predict(want["image"], verbose=0), want["conv2"], "conv2 features")
    layers = base.layers[1:4]
    several = keras.Model(inputs=base.inputs, outputs=[layer.output for layer in layers])
    for i, out in enumerate(several.predict(want["image"], verbose=0)):
        _close(out, want[f"several/{i}"], f"features of {layers[i].name}")
    assert base.get_layer(index=2) is base.get_layer("conv2")
    assert base.get_layer("conv2").input_shape == (None, 6, 6, 4)
    assert base.get_layer("conv2").output_shape == (None, 4, 4, 6)
    assert conv2.output_shape == (None, 4, 4, 6) and conv2.input_shape == (None, 8, 8, 3)


def test_fine_tuning_a_frozen_nested_model_matches_tf_keras():
    want = _fixture("fine_tune")
    model = cases.fine_tune_model(keras, cases.conv_base(keras))
    initial = _prefixed(want, "initial")
    cases.set_layer_weights(model, initial)
    model.compile(
        keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    assert len(model.trainable_weights) == int(want["n_trainable"]) == 4
    _close(model.predict(want["image"], verbose=0), want["predict"], "predict")
    logs = model.train_on_batch(want["image"], want["label"], return_dict=True)
    _check_logs(logs, _prefixed(want, "train_on_batch"), "train_on_batch")
    after = _prefixed(want, "after")
    _check_weights(model, after, "weights after one step")
    for key, value in cases.layer_weights(model).items():
        if not key.startswith("head"):  # the frozen base, BatchNormalization's statistics too
            np.testing.assert_array_equal(value, initial[key], err_msg=key)


def test_one_output_logs_stay_as_they_were():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype(np.float32), rng.integers(0, 3, 32)
    logs = []
    for loss in ("sparse_categorical_crossentropy", ["sparse_categorical_crossentropy"]):
        keras.utils.set_random_seed(1)
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="out")(inputs))
        model.compile("sgd", loss=loss, metrics=["accuracy"])
        logs.append(model.fit(x, y, epochs=2, verbose=0).history)
    assert set(logs[0]) == {"loss", "accuracy"}
    assert logs[0] == logs[1]
    keras.utils.set_random_seed(1)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="out")(inputs))
    model.compile("sgd", loss={"out": "sparse_categorical_crossentropy"}, metrics=["accuracy"])
    assert model.fit(x, y, epochs=2, verbose=0).history == logs[0]


def test_a_single_output_loss_weight_scales_the_loss_and_its_gradient():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 3)).astype(np.float32), rng.normal(size=(16, 2))
    models = []
    for weight, rate in ((None, 0.1), (3.0, 0.1 / 3.0)):
        keras.utils.set_random_seed(2)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(keras.optimizers.SGD(rate), "mse", loss_weights=weight)
        loss = model.train_on_batch(x, y)
        models.append((model, loss))
    (plain, plain_loss), (weighted, weighted_loss) = models
    _close(weighted_loss, 3.0 * plain_loss, "loss")
    for a, b in zip(weighted.get_weights(), plain.get_weights()):
        _close(a, b, "one step")


def test_dict_outputs_predict_a_dict_and_train_from_dict_targets():
    x, y = cases.ticket_data()
    listed = _tickets(cases.seeded_weights(cases.ticket_model(keras), 9))
    inputs = {t.name: t for t in listed.inputs}
    dict_model = keras.Model(
        inputs, {"priority": listed.outputs[0], "department": listed.outputs[1]}
    )
    predicted = dict_model.predict(x, verbose=0)
    assert isinstance(predicted, dict) and set(predicted) == {"priority", "department"}
    for out, name in zip(listed.predict(_as_list(x), verbose=0), ("priority", "department")):
        np.testing.assert_array_equal(predicted[name], out)
    dict_model.compile("sgd", **DICT_COMPILE)
    logs = dict_model.fit(x, y, epochs=1, batch_size=40, verbose=0).history
    assert set(logs) == {
        "loss",
        "priority_loss",
        "department_loss",
        "priority_mae",
        "department_accuracy",
    }


def test_datasets_of_dicts_and_tuples_train_as_the_arrays():
    x, y = cases.ticket_data()
    initial = cases.seeded_weights(cases.ticket_model(keras), 10)
    histories = []
    for data in (
        (x, y),
        (shendu.data.Dataset.from_tensor_slices((x, y)).batch(16),),
        (
            shendu.data.Dataset.from_tensor_slices((tuple(_as_list(x)), tuple(_as_list(y)))).batch(
                16
            ),
        ),
    ):
        model = _tickets(initial)
        model.compile(keras.optimizers.Adam(0.01), **DICT_COMPILE)
        kwargs = {"batch_size": 16, "shuffle": False} if len(data) == 2 else {}
        histories.append(model.fit(*data, epochs=2, verbose=0, **kwargs).history)
    for history in histories[1:]:
        _check_logs(history, histories[0], "dataset vs arrays")


def test_the_fused_dense_stack_declines_several_outputs_and_loss_weights():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(1)(hidden), keras.layers.Dense(2)(hidden)])
    model.compile("adam", loss=["mse", "mse"])
    model.fit(np.ones((8, 4)), [np.ones((8, 1)), np.ones((8, 2))], verbose=0)
    assert dense_stack.plan(model) is None
    sequential = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    sequential.compile("adam", "mse")
    sequential.fit(np.ones((8, 4)), np.ones((8, 2)), verbose=0)
    assert dense_stack.plan(sequential) is not None
    sequential.compile("adam", "mse", loss_weights=2.0)
    sequential.fit(np.ones((8, 4)), np.ones((8, 2)), verbose=0)
    assert dense_stack.plan(sequential) is None


def test_an_output_without_a_loss_gets_no_gradient_and_needs_no_targets():
    x, y = cases.ticket_data()
    model = _tickets(cases.seeded_weights(cases.ticket_model(keras), 11))
    model.compile("sgd", loss={"priority": None, "department": "sparse_categorical_crossentropy"})
    before = model.get_layer("priority").get_weights()
    logs = model.fit(x, {"department": y["department"]}, verbose=0).history
    assert set(logs) == {"loss"}  # one loss: no per-output trackers, as Keras
    for a, b in zip(model.get_layer("priority").get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("compile_args", "match"),
    [
        ({"loss": {"priority": "mse"}}, "loss"),
        ({"loss": ["mse"]}, "loss"),
        ({"loss": "mse", "loss_weights": 2.0}, "loss_weights"),
        ({"loss": "mse", "metrics": ["mae"]}, "metrics"),
        ({"loss": "mse", "metrics": {"nope": ["mae"]}}, "metrics"),
        ({"loss": "mse", "metrics": "mae"}, "metrics"),
    ],
)
def test_compile_arguments_that_do_not_fit_the_outputs_are_refused(compile_args, match):
    model = _tickets(cases.seeded_weights(cases.ticket_model(keras), 12))
    with pytest.raises(ValueError, match=match):
        model.compile("sgd", **compile_args)


def test_data_that_does_not_fit_the_outputs_is_refused():
    x, y = cases.ticket_data()
    model = _tickets(cases.seeded_weights(cases.ticket_model(keras), 13))
    model.compile("sgd", **DICT_COMPILE)
    with pytest.raises(ValueError, match="department"):
        model.fit(x, {"priority": y["priority"]}, verbose=0)
    with pytest.raises(ValueError, match="y"):
        model.fit(x, y["priority"], verbose=0)
    with pytest.raises(ValueError, match="class_weight"):
        model.fit(x, y, class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match="tags"):
        model.fit({"title": x["title"]}, y, verbose=0)


def test_several_outputs_under_several_replicas_are_refused():
    x, y = cases.ticket_data()
    with strategy.Strategy(collectives.StandIn(2)).scope():
        model = _tickets(cases.seeded_weights(cases.ticket_model(keras), 14))
        model.compile("sgd", **DICT_COMPILE)
    with pytest.raises(NotImplementedError, match="several outputs"):
        model.fit(x, y, verbose=0)


def test_sequential_pop_and_add_after_build_train_the_new_stack():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 4)), np.ones((8, 2)), verbose=0)
    popped = model.pop()
    assert popped.name == "dense_1" or isinstance(popped, keras.layers.Dense)
    assert model.output_shape == (None, 6)
    model.add(keras.layers.Dense(3, name="new_head"))
    assert model.output_shape == (None, 3) and model.layers[-1].name == "new_head"
    model.compile("sgd", "mse")
    before = model.get_layer("new_head").get_weights()[0].copy()
    model.fit(np.ones((8, 4)), np.ones((8, 3)), verbose=0)
    assert not np.array_equal(model.get_layer("new_head").get_weights()[0], before)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    hidden, head = model.layers
    expected = (x @ hidden.get_weights()[0] + hidden.get_weights()[1]) @ head.get_weights()[0]
    _close(model.predict(x, verbose=0), expected + head.get_weights()[1], "new stack")


def test_the_example_program_trains_and_names_its_logs():
    program = examples.load("multi_input_multi_output")
    keras.utils.set_random_seed(0)
    data = program.load_data(n_train=256, n_test=64)
    model = program.build_model()
    history = program.fit(model, data, epochs=3, verbose=0).history
    assert {"department_accuracy", "priority_mae", "val_department_loss"} <= set(history)
    assert history["loss"][-1] < history["loss"][0]
    assert 0.0 <= program.test_accuracy(model, data, verbose=0) <= 1.0


def test_a_model_with_dicts_saves_and_loads_with_its_compile_arguments(tmp_path):
    x, y = cases.ticket_data()
    listed = _tickets(cases.seeded_weights(cases.ticket_model(keras), 15))
    inputs = {t.name: t for t in listed.inputs}
    model = keras.Model(inputs, {"priority": listed.outputs[0], "department": listed.outputs[1]})
    model.compile("adam", **DICT_COMPILE)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "tickets.keras")
    loaded = keras.models.load_model(tmp_path / "tickets.keras")
    assert loaded.get_compile_config()["loss"] == DICT_COMPILE["loss"]
    assert loaded.get_compile_config()["loss_weights"] == DICT_COMPILE["loss_weights"]
    assert set(loaded.input) == {"title", "tags"}
    predicted, expected = loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    for name in ("priority", "department"):
        np.testing.assert_array_equal(predicted[name], expected[name])
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
