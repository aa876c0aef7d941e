"""shendu's tests, one package per area: ops (kernels against their NumPy twins), keras, bench, gpu."""
