"""Writes a linear model y = x . W + b as an ONNX file (one Gemm node), with no onnx package.

The protobuf is written by hand: a handful of fields of ModelProto, GraphProto, NodeProto,
TensorProto and ValueInfoProto (onnx.proto), enough for ONNX Runtime to load it.
"""
import struct


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number, payload):
    """A length-delimited field (strings, bytes, messages)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int_field(number, value):
    return _varint(number << 3) + _varint(value)


FLOAT = 1


def _tensor_type(dims):
    shape = b"".join(
        _field(1, _field(2, d) if isinstance(d, str) else _int_field(1, d)) for d in dims
    )
    return _field(1, _int_field(1, FLOAT) + _field(2, shape))


def _value_info(name, dims):
    return _field(1, name) + _field(2, _tensor_type(dims))


def _initializer(name, dims, values):
    raw = struct.pack("<%df" % len(values), *values)
    return b"".join(_int_field(1, d) for d in dims) + _int_field(2, FLOAT) + _field(8, name) + _field(9, raw)


def linear_onnx(weights, bias, input_name="x", output_name="y"):
    """The bytes of an ONNX model: input [batch, len(weights)] -> output [batch, 1]."""
    n = len(weights)
    node = _field(1, input_name) + _field(1, "W") + _field(1, "b") + _field(2, output_name) + _field(4, "Gemm")
    graph = (
        _field(1, node)
        + _field(2, "linear")
        + _field(5, _initializer("W", [n, 1], [float(w) for w in weights]))
        + _field(5, _initializer("b", [1], [float(bias)]))
        + _field(11, _value_info(input_name, ["batch", n]))
        + _field(12, _value_info(output_name, ["batch", 1]))
    )
    opset = _field(1, "") + _int_field(2, 13)
    return _int_field(1, 8) + _field(2, "berth-example") + _field(7, graph) + _field(8, opset)
