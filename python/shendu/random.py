"""tf.random-style seeding: shendu.random.set_seed(seed) seeds what shendu.keras draws from."""


def set_seed(seed: int) -> None:
    from .keras import backend

    backend.set_random_seed(seed)


__all__ = ["set_seed"]
