"""The recurrent examples' data: shendu.example_data.text_sequences (also used by the bench)."""

from shendu.example_data import text_sequences as load

__all__ = ["load"]
