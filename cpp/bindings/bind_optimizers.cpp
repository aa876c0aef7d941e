#include <initializer_list>
#include <string>
#include <utility>

#include "bindings/checks.h"
#include "bindings/families.h"
#include "optimizers/optimizers.h"

namespace shendu::bind {

namespace {

// A decay or momentum factor: a number in [0, 1], or [0, 1) when one_allowed is false.
double as_factor(py::handle obj, const char* name, bool one_allowed) {
  const double v = as_finite_double(obj, name);
  require(v >= 0.0 && (one_allowed ? v <= 1.0 : v < 1.0),
          std::string(name) + ": expected a number in [0, 1" + (one_allowed ? "]" : ")") +
              ", got " + std::string(py::repr(obj)));
  return v;
}

// The gradient may be any real array of param's shape (it is converted); it is not updated.
FloatArray as_grad(py::handle obj, const FloatArray& param) {
  FloatArray grad = as_float32(obj, "grad");
  require_same_shape(grad, "grad", param, "param");
  return grad;
}

// Optimizer state updated in place alongside param.
FloatArray as_state(py::handle obj, const char* name, const FloatArray& param) {
  FloatArray state = as_float32_inplace(obj, name);
  require_same_shape(state, name, param, "param");
  return state;
}

// The update loops are vectorized on the promise that their arrays do not overlap
// (cpp/optimizers/optimizers.cpp); a view of one array passed as two of them would update garbage.
void require_disjoint(std::initializer_list<std::pair<const FloatArray*, const char*>> arrays) {
  for (auto a = arrays.begin(); a != arrays.end(); ++a)
    for (auto b = a + 1; b != arrays.end(); ++b) {
      const float* pa = a->first->data();
      const float* pb = b->first->data();
      const py::ssize_t na = a->first->size(), nb = b->first->size();
      require(na == 0 || nb == 0 || pa + na <= pb || pb + nb <= pa,
              std::string(a->second) + " and " + b->second +
                  ": expected separate arrays, got two that share memory");
    }
}

void sgd_update(py::handle param_obj, py::handle grad_obj, py::handle velocity_obj,
                py::handle lr_obj, py::handle momentum_obj, bool nesterov) {
  FloatArray param = as_float32_inplace(param_obj, "param");
  FloatArray grad = as_grad(grad_obj, param);
  const double lr = as_finite_double(lr_obj, "learning_rate");
  const double momentum = as_factor(momentum_obj, "momentum", true);
  std::optional<FloatArray> velocity;
  if (velocity_obj.is_none())
    require(momentum == 0.0, "velocity: None is only allowed with momentum 0, got momentum " +
                                 std::string(py::repr(momentum_obj)));
  else
    velocity = as_state(velocity_obj, "velocity", param);
  if (velocity)
    require_disjoint({{&param, "param"}, {&grad, "grad"}, {&*velocity, "velocity"}});
  else
    require_disjoint({{&param, "param"}, {&grad, "grad"}});
  py::gil_scoped_release release;
  shendu::sgd_update(param.mutable_data(), grad.data(),
                     velocity ? velocity->mutable_data() : nullptr, param.size(), lr, momentum,
                     nesterov);
}

// The optional squared gradient (None: grad ** 2), of param's shape like grad.
std::optional<FloatArray> as_grad_sq(py::handle obj, const FloatArray& param) {
  if (obj.is_none()) return std::nullopt;
  FloatArray grad_sq = as_float32(obj, "grad_sq");
  require_same_shape(grad_sq, "grad_sq", param, "param");
  return grad_sq;
}

void adam_update(py::handle param_obj, py::handle grad_obj, py::handle m_obj, py::handle v_obj,
                 py::handle step_obj, py::handle lr_obj, py::handle beta_1_obj,
                 py::handle beta_2_obj, py::handle epsilon_obj, py::handle grad_sq_obj) {
  FloatArray param = as_float32_inplace(param_obj, "param");
  FloatArray grad = as_grad(grad_obj, param);
  const std::optional<FloatArray> grad_sq = as_grad_sq(grad_sq_obj, param);
  FloatArray m = as_state(m_obj, "m", param);
  FloatArray v = as_state(v_obj, "v", param);
  const int64_t step = as_int(step_obj, "step", 1);
  const double lr = as_finite_double(lr_obj, "learning_rate");
  // beta_1 == 1 would divide by 1 - beta_1**step == 0.
  const double beta_1 = as_factor(beta_1_obj, "beta_1", false);
  const double beta_2 = as_factor(beta_2_obj, "beta_2", false);
  const double epsilon = as_finite_double(epsilon_obj, "epsilon");
  require_disjoint({{&param, "param"}, {&grad, "grad"}, {&m, "m"}, {&v, "v"}});
  if (grad_sq) require_disjoint({{&param, "param"}, {&*grad_sq, "grad_sq"}, {&m, "m"}, {&v, "v"}});
  py::gil_scoped_release release;
  shendu::adam_update(param.mutable_data(), grad.data(), grad_sq ? grad_sq->data() : nullptr,
                      m.mutable_data(), v.mutable_data(), param.size(), step, lr, beta_1, beta_2,
                      epsilon);
}

void rmsprop_update(py::handle param_obj, py::handle grad_obj, py::handle avg_sq_obj,
                    py::handle lr_obj, py::handle rho_obj, py::handle epsilon_obj,
                    py::handle grad_sq_obj) {
  FloatArray param = as_float32_inplace(param_obj, "param");
  FloatArray grad = as_grad(grad_obj, param);
  const std::optional<FloatArray> grad_sq = as_grad_sq(grad_sq_obj, param);
  FloatArray avg_sq = as_state(avg_sq_obj, "avg_sq", param);
  const double lr = as_finite_double(lr_obj, "learning_rate");
  const double rho = as_factor(rho_obj, "rho", true);
  const double epsilon = as_finite_double(epsilon_obj, "epsilon");
  require_disjoint({{&param, "param"}, {&grad, "grad"}, {&avg_sq, "avg_sq"}});
  if (grad_sq) require_disjoint({{&param, "param"}, {&*grad_sq, "grad_sq"}, {&avg_sq, "avg_sq"}});
  py::gil_scoped_release release;
  shendu::rmsprop_update(param.mutable_data(), grad.data(), grad_sq ? grad_sq->data() : nullptr,
                         avg_sq.mutable_data(), param.size(), lr, rho, epsilon);
}


// Checks separateness of every array an update touches (the optional grad_sq included).
using Named = std::pair<const FloatArray*, const char*>;

void require_disjoint_with(const std::optional<FloatArray>& extra, const char* extra_name,
                           std::initializer_list<Named> arrays) {
  require_disjoint(arrays);
  if (!extra) return;
  for (const auto& a : arrays) require_disjoint({{&*extra, extra_name}, a});
}

// A number >= 0 (epsilon, regularization strengths).
double as_nonnegative(py::handle obj, const char* name) {
  const double v = as_finite_double(obj, name);
  require(v >= 0.0, std::string(name) + ": expected a number >= 0, got " +
                        std::string(py::repr(obj)));
  return v;
}

void weight_decay_update(py::handle param_obj, py::handle lr_obj, py::handle wd_obj) {
  FloatArray param = as_float32_inplace(param_obj, "param");
  const double lr = as_finite_double(lr_obj, "learning_rate");
  const double wd = as_finite_double(wd_obj, "weight_decay");
  py::gil_scoped_release release;
  shendu::weight_decay_update(param.mutable_data(), param.size(), lr, wd);
}

void ema_update(py::handle average_obj, py::handle param_obj, py::handle momentum_obj) {
  FloatArray param = as_float32(param_obj, "param");
  FloatArray average = as_state(average_obj, "average", param);
  const double momentum = as_factor(momentum_obj, "momentum", true);
  require_disjoint({{&average, "average"}, {&param, "param"}});
  py::gil_scoped_release release;
  shendu::ema_update(average.mutable_data(), param.data(), param.size(), momentum);
}

void nadam_update(py::handle param_obj, py::handle grad_obj, py::handle m_obj, py::handle v_obj,
                  py::handle step_obj, py::handle u_product_obj, py::handle lr_obj,
                  py::handle beta_1_obj, py::handle beta_2_obj, py::handle epsilon_obj,
                  py::handle grad_sq_obj) {
  FloatArray param = as_float32_inplace(param_obj, "param");
  FloatArray grad = as_grad(grad_obj, param);
  const std::optional<FloatArray> grad_sq = as_grad_sq(grad_sq_obj, param);
  FloatArray m = as_state(m_obj, "m", param);
  FloatArray v = as_state(v_obj, "v", param);
  const int64_t step = as_int(step_obj, "step", 1);
  // A product of factors in (0, 1): 1 would divide by 1 - u_product == 0.
  const double u_product = as_factor(u_product_obj, "u_product", false);
  const double lr = as_finite_double(lr_obj, "learning_rate");
  const double beta_1 = as_factor(beta_1_obj, "beta_1", false);
  const double beta_2 = as_factor(beta_2_obj, "beta_2", false);
  const double epsilon = as_finite_double(epsilon_obj, "epsilon");
  require_disjoint_with(grad_sq, "grad_sq",
                        {{&param, "param"}, {&grad, "grad"}, {&m, "m"}, {&v, "v"}});
  py::gil_scoped_release release;
  shendu::nadam_update(param.mutable_data(), grad.data(), grad_sq ? grad_sq->data() : nullptr,
                       m.mutable_data(), v.mutable_data(), param.size(), step, u_product, lr,
                       beta_1, beta_2, epsilon);
}

void adamax_update(py::handle param_obj, py::handle grad_obj, py::handle m_obj, py::handle u_obj,
                   py::handle step_obj, py::handle lr_obj, py::handle beta_1_obj,
                   py::handle beta_2_obj, py::handle epsilon_obj, py::handle grad_abs_obj) {
  FloatArray param = as_float32_inplace(param_obj, "param");
  FloatArray grad = as_grad(grad_obj, param);
  std::optional<FloatArray> grad_abs;
  if (!grad_abs_obj.is_none()) {
    grad_abs = as_float32(grad_abs_obj, "grad_abs");
    require_same_shape(*grad_abs, "grad_abs", param, "param");
  }
  FloatArray m = as_state(m_obj, "m", param);
  FloatArray u = as_state(u_obj, "u", param);
  const int64_t step = as_int(step_obj, "step", 1);
  const double lr = as_finite_double(lr_obj, "learning_rate");
  const double beta_1 = as_factor(beta_1_obj, "beta_1", false);
  const double beta_2 = as_factor(beta_2_obj, "beta_2", true);
  const double epsilon = as_finite_double(epsilon_obj, "epsilon");
  require_disjoint_with(grad_abs, "grad_abs",
                        {{&param, "param"}, {&grad, "grad"}, {&m, "m"}, {&u, "u"}});
  py::gil_scoped_release release;
  shendu::adamax_update(param.mutable_data(), grad.data(), grad_abs ? grad_abs->data() : nullptr,
                        m.mutable_data(), u.mutable_data(), param.size(), step, lr, beta_1,
                        beta_2, epsilon);
}

void adagrad_update(py::handle param_obj, py::handle grad_obj, py::handle acc_obj,
                    py::handle lr_obj, py::handle epsilon_obj, py::handle grad_sq_obj) {
  FloatArray param = as_float32_inplace(param_obj, "param");
  FloatArray grad = as_grad(grad_obj, param);
  const std::optional<FloatArray> grad_sq = as_grad_sq(grad_sq_obj, param);
  FloatArray acc = as_state(acc_obj, "accumulator", param);
  const double lr = as_finite_double(lr_obj, "learning_rate");
  const double epsilon = as_finite_double(epsilon_obj, "epsilon");
  require_disjoint_with(grad_sq, "grad_sq",
                        {{&param, "param"}, {&grad, "grad"}, {&acc, "accumulator"}});
  py::gil_scoped_release release;
  shendu::adagrad_update(param.mutable_data(), grad.data(), grad_sq ? grad_sq->data() : nullptr,
                         acc.mutable_data(), param.size(), lr, epsilon);
}

void adadelta_update(py::handle param_obj, py::handle grad_obj, py::handle acc_grad_obj,
                     py::handle acc_delta_obj, py::handle lr_obj, py::handle rho_obj,
                     py::handle epsilon_obj, py::handle grad_sq_obj) {
  FloatArray param = as_float32_inplace(param_obj, "param");
  FloatArray grad = as_grad(grad_obj, param);
  const std::optional<FloatArray> grad_sq = as_grad_sq(grad_sq_obj, param);
  FloatArray acc_grad = as_state(acc_grad_obj, "acc_grad", param);
  FloatArray acc_delta = as_state(acc_delta_obj, "acc_delta", param);
  const double lr = as_finite_double(lr_obj, "learning_rate");
  const double rho = as_factor(rho_obj, "rho", true);
  const double epsilon = as_finite_double(epsilon_obj, "epsilon");
  require_disjoint_with(grad_sq, "grad_sq",
                        {{&param, "param"}, {&grad, "grad"}, {&acc_grad, "acc_grad"},
                         {&acc_delta, "acc_delta"}});
  py::gil_scoped_release release;
  shendu::adadelta_update(param.mutable_data(), grad.data(), grad_sq ? grad_sq->data() : nullptr,
                          acc_grad.mutable_data(), acc_delta.mutable_data(), param.size(), lr,
                          rho, epsilon);
}

void lion_update(py::handle param_obj, py::handle grad_obj, py::handle m_obj, py::handle lr_obj,
                 py::handle beta_1_obj, py::handle beta_2_obj) {
  FloatArray param = as_float32_inplace(param_obj, "param");
  FloatArray grad = as_grad(grad_obj, param);
  FloatArray m = as_state(m_obj, "m", param);
  const double lr = as_finite_double(lr_obj, "learning_rate");
  const double beta_1 = as_factor(beta_1_obj, "beta_1", true);
  const double beta_2 = as_factor(beta_2_obj, "beta_2", true);
  require_disjoint({{&param, "param"}, {&grad, "grad"}, {&m, "m"}});
  py::gil_scoped_release release;
  shendu::lion_update(param.mutable_data(), grad.data(), m.mutable_data(), param.size(), lr,
                      beta_1, beta_2);
}

void ftrl_update(py::handle param_obj, py::handle grad_obj, py::handle acc_obj,
                 py::handle linear_obj, py::handle lr_obj, py::handle power_obj,
                 py::handle l1_obj, py::handle l2_obj, py::handle shrinkage_obj,
                 py::handle beta_obj, py::handle grad_sq_obj) {
  FloatArray param = as_float32_inplace(param_obj, "param");
  FloatArray grad = as_grad(grad_obj, param);
  const std::optional<FloatArray> grad_sq = as_grad_sq(grad_sq_obj, param);
  FloatArray acc = as_state(acc_obj, "accumulator", param);
  FloatArray linear = as_state(linear_obj, "linear", param);
  const double lr = as_finite_double(lr_obj, "learning_rate");
  require(lr > 0.0, "learning_rate: expected a number > 0, got " + std::string(py::repr(lr_obj)));
  const double power = as_finite_double(power_obj, "learning_rate_power");
  require(power <= 0.0, "learning_rate_power: expected a number <= 0, got " +
                            std::string(py::repr(power_obj)));
  const double l1 = as_nonnegative(l1_obj, "l1_regularization_strength");
  const double l2 = as_nonnegative(l2_obj, "l2_regularization_strength");
  const double shrinkage = as_nonnegative(shrinkage_obj, "l2_shrinkage_regularization_strength");
  const double beta = as_finite_double(beta_obj, "beta");
  require_disjoint_with(grad_sq, "grad_sq",
                        {{&param, "param"}, {&grad, "grad"}, {&acc, "accumulator"},
                         {&linear, "linear"}});
  py::gil_scoped_release release;
  shendu::ftrl_update(param.mutable_data(), grad.data(), grad_sq ? grad_sq->data() : nullptr,
                      acc.mutable_data(), linear.mutable_data(), param.size(), lr, power, l1, l2,
                      shrinkage, beta);
}

}  // namespace

void bind_optimizers(py::module_& m) {
  m.def("sgd_update", &sgd_update, py::arg("param"), py::arg("grad"),
        py::arg("velocity") = py::none(), py::arg("learning_rate") = 0.01,
        py::arg("momentum") = 0.0, py::arg("nesterov") = false);
  m.def("adam_update", &adam_update, py::arg("param"), py::arg("grad"), py::arg("m"), py::arg("v"),
        py::arg("step"), py::arg("learning_rate") = 0.001, py::arg("beta_1") = 0.9,
        py::arg("beta_2") = 0.999, py::arg("epsilon") = 1e-7, py::arg("grad_sq") = py::none());
  m.def("rmsprop_update", &rmsprop_update, py::arg("param"), py::arg("grad"), py::arg("avg_sq"),
        py::arg("learning_rate") = 0.001, py::arg("rho") = 0.9, py::arg("epsilon") = 1e-7,
        py::arg("grad_sq") = py::none());
  m.def("weight_decay_update", &weight_decay_update, py::arg("param"), py::arg("learning_rate"),
        py::arg("weight_decay"));
  m.def("ema_update", &ema_update, py::arg("average"), py::arg("param"), py::arg("momentum"));
  m.def("nadam_update", &nadam_update, py::arg("param"), py::arg("grad"), py::arg("m"),
        py::arg("v"), py::arg("step"), py::arg("u_product"), py::arg("learning_rate") = 0.001,
        py::arg("beta_1") = 0.9, py::arg("beta_2") = 0.999, py::arg("epsilon") = 1e-7,
        py::arg("grad_sq") = py::none());
  m.def("adamax_update", &adamax_update, py::arg("param"), py::arg("grad"), py::arg("m"),
        py::arg("u"), py::arg("step"), py::arg("learning_rate") = 0.001, py::arg("beta_1") = 0.9,
        py::arg("beta_2") = 0.999, py::arg("epsilon") = 1e-7, py::arg("grad_abs") = py::none());
  m.def("adagrad_update", &adagrad_update, py::arg("param"), py::arg("grad"),
        py::arg("accumulator"), py::arg("learning_rate") = 0.001, py::arg("epsilon") = 1e-7,
        py::arg("grad_sq") = py::none());
  m.def("adadelta_update", &adadelta_update, py::arg("param"), py::arg("grad"),
        py::arg("acc_grad"), py::arg("acc_delta"), py::arg("learning_rate") = 0.001,
        py::arg("rho") = 0.95, py::arg("epsilon") = 1e-7, py::arg("grad_sq") = py::none());
  m.def("lion_update", &lion_update, py::arg("param"), py::arg("grad"), py::arg("m"),
        py::arg("learning_rate") = 0.001, py::arg("beta_1") = 0.9, py::arg("beta_2") = 0.99);
  m.def("ftrl_update", &ftrl_update, py::arg("param"), py::arg("grad"), py::arg("accumulator"),
        py::arg("linear"), py::arg("learning_rate") = 0.001,
        py::arg("learning_rate_power") = -0.5, py::arg("l1_regularization_strength") = 0.0,
        py::arg("l2_regularization_strength") = 0.0,
        py::arg("l2_shrinkage_regularization_strength") = 0.0, py::arg("beta") = 0.0,
        py::arg("grad_sq") = py::none());
}

}  // namespace shendu::bind
