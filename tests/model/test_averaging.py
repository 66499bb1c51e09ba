"""Weight averaging of snapshots: the pure mean, its refusals, and a written checkpoint that loads and answers."""

import json

import numpy as np
import pytest

from model.checkpoint import CheckpointError, ModelCard, card_path, load_checkpoint, save_checkpoint
from model.training.averaging import RunningAverage, average_checkpoints, average_weights


def test_average_weights_is_the_mean_array_by_array_and_keeps_integer_counters():
    a = [np.array([1.0, 2.0], np.float32), np.array(7, np.int64)]
    b = [np.array([3.0, 6.0], np.float32), np.array(7, np.int64)]
    mean = average_weights([a, b])
    assert mean[0].dtype == np.float32 and np.allclose(mean[0], [2.0, 4.0])
    assert mean[1] == 7 and mean[1].dtype == np.int64


def test_running_average_is_the_mean_of_the_snapshots_added_one_at_a_time():
    running = RunningAverage()
    with pytest.raises(ValueError, match="no snapshot"):
        running.mean()
    snapshots = [[np.array([v, 2 * v], np.float64), np.array(v, np.int64), np.array([v], np.float32)]
                 for v in (1.0, 2.0, 6.0)]
    for snapshot in snapshots:
        running.add(snapshot)
    mean = running.mean()
    assert running.count == 3 and mean[0].dtype == np.float64 and np.allclose(mean[0], [3.0, 6.0])
    assert mean[2].dtype == np.float32 and np.allclose(mean[2], [3.0])
    assert mean[1] == 6 and mean[1].dtype == np.int64, "counters are the last snapshot's, not averaged"
    np.testing.assert_allclose(mean[0], average_weights([[s[0]] for s in snapshots])[0])
    snapshots[0][0][:] = 100  # float64 in, float64 sum: only a copy keeps the mean from changing
    snapshots[2][1][...] = 9
    assert np.allclose(running.mean()[0], [3.0, 6.0]) and running.mean()[1] == 6
    with pytest.raises(ValueError, match="2 arrays, the first had 3"):
        running.add([np.zeros(2), np.array(1)])
    with pytest.raises(ValueError, match=r"weight array 0 has shape \(3,\)"):
        running.add([np.zeros(3), np.array(1), np.zeros(1, np.float32)])
    with pytest.raises(ValueError, match=r"weight array 2 has shape \(2,\)"):
        running.add([np.ones(2), np.array(1), np.zeros(2, np.float32)])
    assert running.count == 3 and np.allclose(running.mean()[0], [3.0, 6.0]), "a refused snapshot changes nothing"
    assert running.mean()[1] == 6


@pytest.mark.parametrize("other, message", [
    ([np.zeros(2, np.float32)], "has 1 weight arrays"),
    ([np.zeros(3, np.float32), np.array(7, np.int64)], "shapes"),
    ([np.zeros(2, np.float32), np.array(8, np.int64)], "integer weight array 1 differs"),
])
def test_average_weights_refuses_models_that_do_not_match(other, message):
    first = [np.zeros(2, np.float32), np.array(7, np.int64)]
    with pytest.raises(ValueError, match=message):
        average_weights([first, other])


def test_weighted_average_interpolates_between_two_models():
    a = [np.array([1.0, 2.0], np.float32), np.array(7, np.int64)]
    b = [np.array([3.0, 6.0], np.float32), np.array(7, np.int64)]
    assert np.allclose(average_weights([a, b], coefficients=(0.75, 0.25))[0], [1.5, 3.0])
    assert np.allclose(average_weights([a, b], coefficients=(2, 2))[0], [2.0, 4.0]), "coefficients are normalised"
    assert np.allclose(average_weights([a, b], coefficients=(1, 0))[0], a[0])
    for bad in ((1.0,), (-0.5, 1.5), (0, 0), (float("nan"), 1.0)):
        with pytest.raises(ValueError, match="coefficients"):
            average_weights([a, b], coefficients=bad)


def test_average_weights_refuses_nothing():
    with pytest.raises(ValueError, match="at least one"):
        average_weights([])


def _tiny(seed: int, **changes):
    import keras

    from model.builder import build_model
    from model.presets import get_preset

    keras.utils.set_random_seed(seed)
    return build_model(get_preset("tiny", **changes))


def test_averaged_checkpoint_holds_the_mean_weights_loads_and_answers(tmp_path):
    paths = []
    for seed in (1, 2):
        path = tmp_path / f"snap-{seed}.weights.h5"
        save_checkpoint(_tiny(seed), path, ModelCard(version=f"tiny-s{seed}", preset="tiny", config={}))
        paths.append(path)
    expected = [(np.asarray(a, np.float64) + np.asarray(b, np.float64)) / 2
                for a, b in zip(load_checkpoint(paths[0])[0].get_weights(), load_checkpoint(paths[1])[0].get_weights(),
                                strict=True)]
    from model.cli import main

    out = tmp_path / "avg.weights.h5"
    assert main(["average", "--checkpoints", *map(str, paths), "--out", str(out), "--version", "tiny-avg"]) == 0
    model, card = load_checkpoint(out)
    for got, want in zip(model.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert card.version == "tiny-avg"
    assert [s["version"] for s in card.training["averaged_from"]] == ["tiny-s1", "tiny-s2"]
    assert json.loads(card_path(out).read_text())["version"] == "tiny-avg"
    outputs = model(model.dummy_inputs())
    assert all(np.all(np.isfinite(np.asarray(o, np.float32))) for o in outputs)


def test_averaging_refuses_one_checkpoint_or_another_architecture(tmp_path):
    first, other = tmp_path / "a.weights.h5", tmp_path / "b.weights.h5"
    save_checkpoint(_tiny(1), first, ModelCard(version="a", preset="tiny", config={}))
    save_checkpoint(_tiny(1, matching_inputs="distance_product"), other, ModelCard(version="b", preset="tiny",
                                                                                   config={}))
    with pytest.raises(ValueError, match="at least two"):
        average_checkpoints([first], tmp_path / "x.weights.h5", "x")
    with pytest.raises(ValueError, match="matching_inputs"):
        average_checkpoints([first, other], tmp_path / "x.weights.h5", "x")
    assert not (tmp_path / "x.weights.h5").exists()


def test_averaging_names_a_corrupt_snapshot(tmp_path):
    first, corrupt = tmp_path / "a.weights.h5", tmp_path / "b.weights.h5"
    save_checkpoint(_tiny(1), first, ModelCard(version="a", preset="tiny", config={}))
    save_checkpoint(_tiny(2), corrupt, ModelCard(version="b", preset="tiny", config={}))
    corrupt.write_bytes(b"not an HDF5 file")
    with pytest.raises(CheckpointError, match="b.weights.h5: cannot load weights"):
        average_checkpoints([first, corrupt], tmp_path / "x.weights.h5", "x")
    assert not (tmp_path / "x.weights.h5").exists()


def test_average_command_names_a_missing_checkpoint(tmp_path, capsys):
    from model.cli import main

    assert main(["average", "--checkpoints", str(tmp_path / "gone.weights.h5"), str(tmp_path / "b.weights.h5"),
                 "--out", str(tmp_path / "x.weights.h5"), "--version", "x"]) == 2
    assert "gone.weights.h5" in capsys.readouterr().err
