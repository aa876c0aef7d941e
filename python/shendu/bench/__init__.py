"""python -m shendu bench and bench-gpu."""
