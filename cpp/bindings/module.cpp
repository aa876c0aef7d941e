// shendu._cpu: the C++ kernels as a Python extension module.
#include <pybind11/pybind11.h>

#include <initializer_list>
#include <string>

#include "cpu_features.h"
#include "families.h"
#include "parallel.h"

namespace py = pybind11;

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "shendu's C++ kernels (use shendu.ops, which validates nothing twice and dispatches)";
  m.attr("__version__") = SHENDU_VERSION;
  m.attr("compiler") = SHENDU_COMPILER;

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

  shendu::bind::bind_dense(m);
  shendu::bind::bind_conv(m);
  shendu::bind::bind_pool(m);
  shendu::bind::bind_rnn(m);
  shendu::bind::bind_embedding(m);
  shendu::bind::bind_dropout(m);
  shendu::bind::bind_losses(m);
  shendu::bind::bind_optimizers(m);
  shendu::bind::bind_train_step(m);
}
