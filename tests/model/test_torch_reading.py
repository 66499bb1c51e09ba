"""The torch-free `.pth` reader: state dicts written here in both PyTorch formats with pickle and zipfile only."""

from __future__ import annotations

import collections
import contextlib
import io
import pickle
import sys
import types
import zipfile

import numpy as np
import pytest

from model.torch_reading import LEGACY_MAGIC, LEGACY_PROTOCOL, TorchFileError, read_torch_state_dict

_STORAGE_NAMES = {np.dtype("float32"): "FloatStorage", np.dtype("int64"): "LongStorage",
                  np.dtype("float16"): "HalfStorage"}


class _Storage:
    def __init__(self, key: str, data: np.ndarray):
        self.key, self.data = key, data


class _Tensor:
    """Pickles like a torch.Tensor: `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`."""

    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def __reduce__(self):
        rebuild = sys.modules["torch._utils"]._rebuild_tensor_v2
        return rebuild, (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict())


@contextlib.contextmanager
def _fake_torch():
    """Stand-in `torch` modules so that pickle writes the same global names as torch.save (only while saving)."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called: only pickled")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    for name in _STORAGE_NAMES.values():
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        yield torch
    finally:
        for k, module in saved.items():
            if module is None:
                sys.modules.pop(k)
            else:
                sys.modules[k] = module


def _tensors(state: dict[str, np.ndarray]):
    """One contiguous storage per array, keyed "0", "1", ... as torch.save numbers them."""
    storages, objects = {}, collections.OrderedDict()
    for i, (name, array) in enumerate(state.items()):
        contiguous = np.array(array, order="C")  # keeps 0-d arrays 0-d, unlike ascontiguousarray
        storage = storages[str(i)] = _Storage(str(i), contiguous.reshape(-1))
        strides = tuple(s // contiguous.itemsize for s in contiguous.strides)
        objects[name] = _Tensor(storage, 0, contiguous.shape, strides)
    return storages, objects


class _Pickler(pickle.Pickler):
    def __init__(self, file, torch):
        super().__init__(file, protocol=2)
        self.torch = torch

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            storage_type = getattr(self.torch, _STORAGE_NAMES[obj.data.dtype])
            return ("storage", storage_type, obj.key, "cpu", obj.data.size)
        return None


def write_legacy(path, state: dict[str, np.ndarray]) -> None:
    """`torch.save(state, path, _use_new_zipfile_serialization=False)`, byte for byte in structure."""
    storages, objects = _tensors(state)
    with _fake_torch() as torch, open(path, "wb") as f:
        pickle.dump(LEGACY_MAGIC, f, protocol=2)
        pickle.dump(LEGACY_PROTOCOL, f, protocol=2)
        pickle.dump({"protocol_version": LEGACY_PROTOCOL, "little_endian": True,
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
        _Pickler(f, torch).dump(objects)
        keys = list(storages)
        pickle.dump(keys, f, protocol=2)
        for key in keys:
            data = storages[key].data
            f.write(np.int64(data.size).tobytes())
            f.write(data.astype(data.dtype.newbyteorder("<")).tobytes())


def write_zip(path, state: dict[str, np.ndarray], prefix: str = "archive") -> None:
    """`torch.save(state, path)` (torch >= 1.6): NAME/data.pkl plus one NAME/data/KEY file per storage."""
    storages, objects = _tensors(state)
    buffer = io.BytesIO()
    with _fake_torch() as torch:
        _Pickler(buffer, torch).dump(objects)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{prefix}/data.pkl", buffer.getvalue())
        archive.writestr(f"{prefix}/byteorder", "little")
        for key, storage in storages.items():
            archive.writestr(f"{prefix}/data/{key}", storage.data.tobytes())


def _state(rng) -> dict[str, np.ndarray]:
    return {
        "conv.weight": rng.normal(size=(4, 3, 3, 3)).astype(np.float32),
        "bn.running_var": rng.uniform(0.5, 2, size=4).astype(np.float32),
        "bn.num_batches_tracked": np.array(7, np.int64),
        "half": rng.normal(size=(2, 5)).astype(np.float16),
    }


@pytest.mark.parametrize("writer", [write_legacy, write_zip])
def test_state_dict_round_trips_in_both_formats(tmp_path, rng, writer):
    state = _state(rng)
    path = tmp_path / "state.pth"
    writer(path, state)
    read = read_torch_state_dict(path)
    assert list(read) == list(state)
    for name, array in state.items():
        assert read[name].dtype == array.dtype and read[name].shape == array.shape
        np.testing.assert_array_equal(read[name], array)


def test_strided_views_are_materialised(tmp_path, rng):
    """A tensor that is a transposed view of its storage (stride != contiguous) comes back as that view."""
    base = rng.normal(size=(3, 5)).astype(np.float32)
    storage = _Storage("0", base.ravel())
    objects = collections.OrderedDict(t=_Tensor(storage, 0, (5, 3), (1, 5)), tail=_Tensor(storage, 10, (5,), (1,)))
    buffer = io.BytesIO()
    with _fake_torch() as torch:
        _Pickler(buffer, torch).dump(objects)
    path = tmp_path / "views.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        archive.writestr("archive/data/0", storage.data.tobytes())
    read = read_torch_state_dict(path)
    np.testing.assert_array_equal(read["t"], base.T)
    np.testing.assert_array_equal(read["tail"], base.ravel()[10:])


def _one_tensor_file(path, offset: int, size: tuple, stride: tuple):
    """A zip-format file of one tensor "w" over a storage of 6 zeros: `path`."""
    storage = _Storage("0", np.zeros(6, np.float32))
    buffer = io.BytesIO()
    with _fake_torch() as torch:
        _Pickler(buffer, torch).dump({"w": _Tensor(storage, offset, size, stride)})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        archive.writestr("archive/data/0", storage.data.tobytes())
    return path


def test_a_tensor_outside_its_storage_is_refused(tmp_path):
    path = _one_tensor_file(tmp_path / "bad.pth", 2, (2, 3), (3, 1))
    with pytest.raises(TorchFileError, match="outside its storage"):
        read_torch_state_dict(path)


@pytest.mark.parametrize("size, stride", [((10**6, 10**6), (0, 0)), ((-1, 3), (3, 1))])
def test_a_tensor_with_more_elements_than_its_storage_is_refused_before_any_allocation(tmp_path, size, stride):
    """A few bytes must not make the reader allocate terabytes (a size with zero strides), nor crash on a negative
    size: both are a damaged file."""
    path = _one_tensor_file(tmp_path / "huge.pth", 0, size, stride)
    with pytest.raises(TorchFileError, match="more elements than its storage"):
        read_torch_state_dict(path)


def test_other_globals_are_refused_without_running_them(tmp_path):
    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"x": types.SimpleNamespace(a=1)}, protocol=2))
    with pytest.raises(TorchFileError, match="refusing to load types.SimpleNamespace"):
        read_torch_state_dict(path)


def test_a_cut_off_legacy_file_says_to_fetch_again(tmp_path, rng):
    path = tmp_path / "cut.pth"
    write_legacy(path, _state(rng))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(TorchFileError, match="fetch it again"):
        read_torch_state_dict(path)


def test_a_file_that_is_not_pytorch_is_refused(tmp_path):
    path = tmp_path / "text.pth"
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(TorchFileError):
        read_torch_state_dict(path)
