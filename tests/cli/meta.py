"""A checkpoint's safetensors header for the CLI tests: meta(path) -> (__metadata__ dict, tensor header)."""
import json, struct


def meta(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    return header.pop("__metadata__"), header
