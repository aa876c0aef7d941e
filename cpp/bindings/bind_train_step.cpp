// shendu._cpu.DenseStack: the fused training step of a Sequential stack of Dense (+ Dropout)
// layers. The Keras trainer builds one per compiled model, handing over the layers' weight arrays
// and the optimizer's slot arrays (updated in place, so the layers keep their NumPy arrays), and
// calls step() once per batch. Threads may share a stack: its steps then run one at a time.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/stl.h>

#include "bindings/checks.h"
#include "bindings/families.h"
#include "dense/train_step.h"

namespace shendu::bind {

namespace {

// A name from a fixed set, or ValueError listing the accepted names.
template <class E>
E choose(py::handle obj, const char* name,
         std::initializer_list<std::pair<const char*, E>> options) {
  std::string accepted;
  const std::string given = py::isinstance<py::str>(obj) ? obj.cast<std::string>() : "";
  for (const auto& [option, value] : options) {
    if (given == option) return value;
    accepted += (accepted.empty() ? "'" : ", '") + std::string(option) + "'";
  }
  throw py::value_error(std::string(name) + ": expected one of " + accepted + ", got " +
                        std::string(py::repr(obj)));
}

double as_factor(py::handle obj, const char* name) {
  const double v = as_finite_double(obj, name);
  require(v >= 0.0 && v < 1.0,
          std::string(name) + ": expected a number in [0, 1), got " + std::string(py::repr(obj)));
  return v;
}

StepOptimizerConfig as_optimizer(const py::dict& d) {
  StepOptimizerConfig o;
  o.kind = choose<StepOptimizer>(d["name"], "optimizer name", {{"sgd", StepOptimizer::Sgd},
                                                               {"adam", StepOptimizer::Adam},
                                                               {"rmsprop", StepOptimizer::Rmsprop}});
  o.momentum = d.contains("momentum") ? as_factor(d["momentum"], "momentum") : 0.0;
  o.nesterov = d.contains("nesterov") && d["nesterov"].cast<bool>();
  o.beta_1 = d.contains("beta_1") ? as_factor(d["beta_1"], "beta_1") : o.beta_1;
  o.beta_2 = d.contains("beta_2") ? as_factor(d["beta_2"], "beta_2") : o.beta_2;
  o.rho = d.contains("rho") ? as_factor(d["rho"], "rho") : o.rho;
  o.epsilon = d.contains("epsilon") ? as_finite_double(d["epsilon"], "epsilon") : o.epsilon;
  return o;
}

size_t slot_count(const StepOptimizerConfig& o) {
  switch (o.kind) {
    case StepOptimizer::Sgd: return o.momentum != 0.0 ? 1 : 0;
    case StepOptimizer::Adam: return 2;
    case StepOptimizer::Rmsprop: return 1;
  }
  return 0;
}

Penalty as_penalty(py::handle obj, const char* name) {
  Penalty p;
  if (obj.is_none()) return p;
  const auto pair = obj.cast<std::pair<double, double>>();
  require(pair.first >= 0.0 && pair.second >= 0.0 && std::isfinite(pair.first) &&
              std::isfinite(pair.second),
          std::string(name) + ": expected finite (l1, l2) >= 0, got " + std::string(py::repr(obj)));
  p.l1 = pair.first;
  p.l2 = pair.second;
  return p;
}

class PyDenseStack {
 public:
  PyDenseStack(const py::list& layers, py::handle loss, const py::dict& optimizer,
               const py::list& metrics) {
    require(py::len(layers) > 0, "layers: expected at least one dense layer");
    loss_ = choose<StepLoss>(loss, "loss",
                             {{"sparse_softmax_cross_entropy", StepLoss::SparseSoftmaxCrossEntropy},
                              {"softmax_cross_entropy", StepLoss::SoftmaxCrossEntropy},
                              {"sigmoid_binary_cross_entropy", StepLoss::SigmoidBinaryCrossEntropy},
                              {"binary_cross_entropy", StepLoss::BinaryCrossEntropy},
                              {"mean_squared_error", StepLoss::MeanSquaredError}});
    const StepOptimizerConfig opt = as_optimizer(optimizer);
    std::vector<StepLayer> specs;
    for (py::handle item : layers) {
      const py::dict d = py::reinterpret_borrow<py::dict>(item);
      StepLayer l;
      l.kernel = weight(d["kernel"], d["kernel_slots"], "kernel", opt);
      l.kernel.penalty = as_penalty(d["kernel_penalty"], "kernel_penalty");
      require(shape_.size() == 2, "kernel: expected a 2-D array, got shape " + shape_str(shape_));
      l.in = shape_[0];
      l.out = shape_[1];
      require(specs.empty() || specs.back().out == l.in,
              "kernel: expected " + std::to_string(specs.empty() ? 0 : specs.back().out) +
                  " rows to follow the previous layer, got shape " + shape_str(shape_));
      if (!d["bias"].is_none()) {
        l.bias = weight(d["bias"], d["bias_slots"], "bias", opt);
        require(shape_ == Shape{l.out}, "bias: expected shape (" + std::to_string(l.out) +
                                            ",), got shape " + shape_str(shape_));
        l.bias.penalty = as_penalty(d["bias_penalty"], "bias_penalty");
      }
      l.activation = choose<Activation>(d["activation"], "activation",
                                        {{"linear", Activation::Linear},
                                         {"relu", Activation::Relu},
                                         {"sigmoid", Activation::Sigmoid},
                                         {"tanh", Activation::Tanh},
                                         {"softmax", Activation::Softmax}});
      l.dropout_rate = as_finite_double(d["dropout"], "dropout");
      require(l.dropout_rate >= 0.0 && l.dropout_rate < 1.0,
              "dropout: expected a rate in [0, 1), got " + std::string(py::repr(d["dropout"])));
      dropouts_ += l.dropout_rate > 0.0;
      specs.push_back(std::move(l));
    }
    require(specs.back().dropout_rate == 0.0, "dropout: the last layer cannot have dropout");
    std::vector<StepMetricConfig> metric_specs;
    for (py::handle item : metrics) {
      const auto pair = item.cast<std::pair<py::object, double>>();
      StepMetricConfig mc;
      mc.kind = choose<StepMetric>(
          pair.first, "metric",
          {{"binary_accuracy", StepMetric::BinaryAccuracy},
           {"sparse_categorical_accuracy", StepMetric::SparseCategoricalAccuracy},
           {"categorical_accuracy", StepMetric::CategoricalAccuracy}});
      mc.cut = static_cast<float>(pair.second);
      metric_specs.push_back(mc);
    }
    in_ = specs.front().in;
    out_ = specs.back().out;
    stack_ = std::make_unique<DenseStack>(std::move(specs), loss_, opt, std::move(metric_specs));
  }

  // Runs on every batch: the checks build their messages only when they fail.
  py::tuple step(py::handle x_obj, py::handle y_obj, py::handle lr_obj, py::handle step_obj,
                 py::handle seeds_obj) {
    FloatArray x = as_float32(x_obj, "x", 2);
    const int64_t n = x.shape(0);
    require_shape(x.shape(1) == in_, "x", x, [&] { return "(n, " + std::to_string(in_) + ")"; });
    const double lr = as_finite_double(lr_obj, "learning_rate");
    const int64_t iteration = as_int(step_obj, "step", 1);
    std::vector<uint64_t> seeds;  // one per dropout layer; no allocation without dropout
    if (dropouts_ || !seeds_obj.is_none()) {
      for (py::handle s : seeds_obj) seeds.push_back(static_cast<uint64_t>(as_int(s, "seeds", 0)));
      if (seeds.size() != dropouts_)
        throw py::value_error("seeds: expected " + std::to_string(dropouts_) +
                              " seeds (one per dropout layer), got " +
                              std::to_string(seeds.size()));
    }
    std::optional<FloatArray> targets;
    std::optional<IndexArray> labels;
    py::array y;
    bool ok;
    if (loss_ == StepLoss::SparseSoftmaxCrossEntropy) {
      labels = as_indices(y_obj, "y", out_);
      ok = labels->ndim() == 1 && labels->shape(0) == n;
      y = *labels;
    } else {
      targets = as_float32(y_obj, "y");
      ok = targets->ndim() >= 1 && targets->shape(0) == n && targets->size() == n * out_;
      y = *targets;
    }
    require_shape(ok, "y", y, [&] {
      const std::string want = labels ? "labels of shape " + shape_str(Shape{n})
                                      : "targets of shape " + shape_str(Shape{n, out_});
      return want + " to match x " + shape_str(x);
    });
    double loss;
    std::vector<double> totals(stack_->metric_count());
    {
      // The stack's workspaces are one per object: a second thread stepping the same stack waits
      // here (with the GIL released, so the thread holding the lock can take the GIL back).
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      loss = stack_->step(x.data(), targets ? targets->data() : nullptr,
                          labels ? labels->data() : nullptr, n, lr, iteration, seeds.data(),
                          totals.data());
      last_n_ = n;
    }
    py::tuple result(totals.size() + 1);
    result[0] = py::float_(loss);
    for (size_t m = 0; m < totals.size(); ++m) result[m + 1] = py::float_(totals[m]);
    return result;
  }

  // A copy of the last step's output (logits when the loss fuses the activation), for metrics
  // that are not counted natively.
  FloatArray output() {
    std::vector<float> copy;
    int64_t n;
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(mutex_);
      n = last_n_;
      if (n >= 0) copy.assign(stack_->output(), stack_->output() + n * out_);
    }
    require(n >= 0, "output: no step has run yet");
    FloatArray y = new_float32({n, out_});
    std::copy(copy.begin(), copy.end(), y.mutable_data());
    return y;
  }

 private:
  // A weight and its optimizer slots: float32 arrays updated in place, kept alive by this object.
  StepWeight weight(py::handle value_obj, py::handle slots_obj, const char* name,
                    const StepOptimizerConfig& opt) {
    FloatArray value = as_float32_inplace(value_obj, name);
    shape_ = shape_of(value);
    StepWeight w;
    w.value = value.mutable_data();
    keep_.append(value);
    const py::list slots = py::reinterpret_borrow<py::list>(slots_obj);
    require(py::len(slots) == slot_count(opt),
            std::string(name) + " slots: expected " + std::to_string(slot_count(opt)) +
                " optimizer slot arrays, got " + std::to_string(py::len(slots)));
    for (py::handle s : slots) {
      FloatArray slot = as_float32_inplace(s, "slot");
      require_same_shape(slot, "slot", value, name);
      w.slots.push_back(slot.mutable_data());
      keep_.append(slot);
    }
    return w;
  }

  std::unique_ptr<DenseStack> stack_;
  // Held (without the GIL) while the stack's workspaces are used: by step() and output().
  std::mutex mutex_;
  StepLoss loss_;
  int64_t in_ = 0, out_ = 0;
  int64_t last_n_ = -1;  // rows of the last step; guarded by mutex_
  size_t dropouts_ = 0;
  Shape shape_;  // of the weight weight() last read
  py::list keep_;
};

}  // namespace

void bind_train_step(py::module_& m) {
  py::class_<PyDenseStack>(m, "DenseStack",
                           "The fused training step of a Dense (+ Dropout) stack; see "
                           "shendu.keras.models.dense_stack.")
      .def(py::init<const py::list&, py::handle, const py::dict&, const py::list&>(),
           py::arg("layers"), py::arg("loss"), py::arg("optimizer"), py::arg("metrics"))
      .def("step", &PyDenseStack::step, py::arg("x"), py::arg("y"), py::arg("learning_rate"),
           py::arg("step"), py::arg("seeds") = py::none(),
           "One training step; returns (loss, metric counts...).")
      .def("output", &PyDenseStack::output);
}

}  // namespace shendu::bind
