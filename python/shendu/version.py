"""tf.version-style access: shendu.version.VERSION."""

from ._version import __version__ as VERSION

__all__ = ["VERSION"]
