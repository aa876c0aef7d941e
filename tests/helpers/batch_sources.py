"""A PyDataset defined in an importable module, so spawned worker processes can unpickle it."""

from shendu import keras


class ArrayBatches(keras.utils.PyDataset):
    """Batches of ``batch_size`` rows of ``x`` and ``y``, in order."""

    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]
