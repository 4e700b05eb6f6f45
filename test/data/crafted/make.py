"""Writes small crafted torch.save-style zip checkpoints for the checkpoint reader tests.

Needs only the Python standard library (no torch): fake `torch` / `torch._utils` modules let
pickle emit exactly the globals and persistent ids torch.save writes (protocol 2):
GLOBAL 'torch._utils _rebuild_tensor_v2', persistent id ('storage', torch.<X>Storage, key,
'cpu', numel), an OrderedDict state dict, and `<archive>/data/<key>` stored zip entries.

Run: python3 test/data/crafted/make.py   (writes next to this script)
"""
import collections
import io
import os
import pickle
import struct
import sys
import types
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

torch = types.ModuleType('torch')
torch_utils = types.ModuleType('torch._utils')
sys.modules['torch'] = torch
sys.modules['torch._utils'] = torch_utils


def _rebuild_tensor_v2(*args):
    raise NotImplementedError


_rebuild_tensor_v2.__module__ = 'torch._utils'
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
torch._utils = torch_utils

STORAGE_TYPES = {}
for name in ['FloatStorage', 'HalfStorage', 'BFloat16Storage', 'DoubleStorage', 'LongStorage',
             'ByteStorage', 'ComplexFloatStorage']:
    cls = type(name, (), {})
    cls.__module__ = 'torch'
    setattr(torch, name, cls)
    STORAGE_TYPES[name] = cls


class Storage:
    def __init__(self, kind, key, data, numel):
        self.kind, self.key, self.data, self.numel = kind, key, data, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args)


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ('storage', STORAGE_TYPES[obj.kind], obj.key, 'cpu', obj.numel)
        return None


def save(path, state, storages, archive='archive', compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(state)
    with zipfile.ZipFile(path, 'w', compression=compression) as z:
        z.writestr(f'{archive}/data.pkl', buf.getvalue())
        z.writestr(f'{archive}/byteorder', b'little')
        for s in storages:
            z.writestr(f'{archive}/data/{s.key}', s.data)
        z.writestr(f'{archive}/version', b'3\n')


def u16(*bits):
    return struct.pack(f'<{len(bits)}H', *bits)


def main():
    # f16: 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), +inf, NaN
    s_f16 = Storage('HalfStorage', '0', u16(0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x7E00), 6)
    # bf16: 1.0, -3.5
    s_bf16 = Storage('BFloat16Storage', '1', u16(0x3F80, 0xC060), 2)
    # f32 storage 0..11, viewed transposed (non-contiguous) and with an offset
    s_f32 = Storage('FloatStorage', '2', struct.pack('<12f', *range(12)), 12)
    s_f64 = Storage('DoubleStorage', '3', struct.pack('<2d', 0.5, -1.25), 2)
    s_i64 = Storage('LongStorage', '4', struct.pack('<2q', 3, -4), 2)
    s_u8 = Storage('ByteStorage', '5', bytes([1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1]), 16)
    storages = [s_f16, s_bf16, s_f32, s_f64, s_i64, s_u8]
    state = collections.OrderedDict()
    state['transformer.f16'] = Tensor(s_f16, 0, [2, 3], [3, 1])
    state['bf16'] = Tensor(s_bf16, 0, [2], [1])
    state['transposed'] = Tensor(s_f32, 0, [3, 4], [1, 3])  # out[i][j] = storage[i + 3 j]
    state['offset'] = Tensor(s_f32, 2, [5], [1])  # 2..6
    state['f64'] = Tensor(s_f64, 0, [2], [1])
    state['i64'] = Tensor(s_i64, 0, [2], [1])
    state['transformer.h.0.attn.bias'] = Tensor(s_u8, 0, [1, 1, 4, 4], [16, 16, 4, 1])
    save(os.path.join(HERE, 'torch_dtypes.bin'), state, storages)

    # The same archive with every size and offset in ZIP64 form (zipfile switches to ZIP64
    # records above ZIP64_LIMIT; lowering it forces ZIP64 for this small file).
    limit = zipfile.ZIP64_LIMIT
    zipfile.ZIP64_LIMIT = 8
    try:
        save(os.path.join(HERE, 'torch_dtypes_zip64.bin'), state, storages)
    finally:
        zipfile.ZIP64_LIMIT = limit

    # Deflated entries (torch never writes these): must be refused clearly.
    save(os.path.join(HERE, 'torch_deflated.bin'), state, storages, compression=zipfile.ZIP_DEFLATED)

    # A storage type we do not support.
    s_c = Storage('ComplexFloatStorage', '0', b'\0' * 16, 2)
    save(os.path.join(HERE, 'torch_complex.bin'), {'weird': Tensor(s_c, 0, [2], [1])}, [s_c])

    for f in ['torch_dtypes.bin', 'torch_dtypes_zip64.bin']:
        with zipfile.ZipFile(os.path.join(HERE, f)) as z:
            assert z.testzip() is None


if __name__ == '__main__':
    main()
