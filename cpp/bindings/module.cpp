// shendu._cpu: the C++ kernels as a Python extension module.
#include <pybind11/pybind11.h>

#include <cstdlib>
#include <initializer_list>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "bench/fma_peak.h"
#include "bindings/families.h"
#include "common/cpu_features.h"
#include "common/parallel.h"

namespace py = pybind11;

namespace {

// A training step allocates the same few large arrays (activations, their gradients, im2col
// workspaces) every time. glibc serves blocks above its mmap threshold with fresh mappings and
// gives freed heap tops back to the OS, so each step page-faults its arrays in again (thousands
// of faults per step of a small CNN, a large part of its time). Raising both
// thresholds keeps those blocks in the heap for reuse. Skipped when the user tunes malloc through
// glibc's own variables or sets SHENDU_MALLOC=system. Returns whether the thresholds were set.
bool keep_large_blocks_in_heap() {
#if defined(__GLIBC__)
  for (const char* var : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"})
    if (std::getenv(var) != nullptr) return false;
  const char* choice = std::getenv("SHENDU_MALLOC");
  if (choice != nullptr && std::string(choice) == "system") return false;
  constexpr int kMmapThreshold = 32 << 20;  // glibc's largest allowed value on 64-bit
  constexpr int kTrimThreshold = 128 << 20;
  return mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
#else
  return false;
#endif
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "shendu's C++ kernels (use shendu.ops, which validates nothing twice and dispatches)";
  m.attr("__version__") = SHENDU_VERSION;
  m.attr("compiler") = SHENDU_COMPILER;
  m.attr("malloc_tuned") = keep_large_blocks_in_heap();

  m.def("get_num_threads", &shendu::num_threads);
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw py::value_error("n: expected a positive thread count, got " + std::to_string(n));
    shendu::set_num_threads(n);
  }, py::arg("n"));
  m.def("isa", [] { return shendu::isa_name(shendu::active_isa()); },
        "Instruction-set variant of the hot kernels in use: 'avx512', 'avx2' or 'generic'.");
  m.def("detected_isa", [] { return shendu::isa_name(shendu::detected_isa()); });
  m.def("set_isa", [](const std::string& name) {
    for (auto isa : {shendu::Isa::Generic, shendu::Isa::Avx2, shendu::Isa::Avx512}) {
      if (name == shendu::isa_name(isa)) {
        if (!shendu::set_active_isa(isa))
          throw py::value_error("isa: this CPU cannot run '" + name + "'");
        return;
      }
    }
    throw py::value_error("isa: expected 'generic', 'avx2' or 'avx512', got '" + name + "'");
  }, py::arg("isa"), "Select a kernel variant (testing): lower than detected only.");

  m.def("fma_peak_gflops", [](int threads, double seconds) {
    if (threads < 1)
      throw py::value_error("threads: expected a positive thread count, got " + std::to_string(threads));
    if (!(seconds > 0.0 && seconds <= 10.0))
      throw py::value_error("seconds: expected a duration in (0, 10], got " + std::to_string(seconds));
    py::gil_scoped_release release;
    return shendu::fma_peak_gflops(threads, seconds);
  }, py::arg("threads"), py::arg("seconds") = 0.2,
        "fp32 GFLOP/s of `threads` threads (at most get_num_threads()) running independent FMA "
        "chains in the active ISA's vectors together for about `seconds`: the machine's FMA "
        "ceiling now, turbo included.");

  shendu::bind::bind_dense(m);
  shendu::bind::bind_conv(m);
  shendu::bind::bind_pool(m);
  shendu::bind::bind_rnn(m);
  shendu::bind::bind_embedding(m);
  shendu::bind::bind_dropout(m);
  shendu::bind::bind_losses(m);
  shendu::bind::bind_optimizers(m);
  shendu::bind::bind_train_step(m);
  shendu::bind::bind_norm(m);
}
